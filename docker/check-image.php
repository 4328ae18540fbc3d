<?php
// Refuses code or configuration the image is not proven to serve, before anything
// runs it:
//
//   php check-image.php code DIRROOT   (the build) the Moodle code is a 5.1 release
//   php check-image.php config         (the entry point) also: what the rendered
//                                      config.php needs is in the image
//
// Only Moodle 5.1 (branch 501) is accepted: the image's scripts are proven with its
// layout (the web root, lib/ and admin/cli/ under public/, config.php in the code
// root), which later releases do not promise to keep. The config check reads
// config.php the way Moodle does (ABORT_AFTER_CONFIG: no database connection) and
// refuses a database connection verified against a CA bundle the image lacks (an
// image built without DATABASE_CA_SHA256 on AWS), and S3 storage through
// tool_objectfs without the plugins in the code.

const BRANCH = '501';

function refuse(string $message): void {
    fwrite(STDERR, "check-image: $message\n");
    exit(1);
}

function check_code(string $dirroot): void {
    $file = "$dirroot/public/version.php";
    $text = @file_get_contents($file);
    if ($text === false) {
        refuse("$file is missing: this is not Moodle 5.1 code (its web root is public/)");
    }
    $branch = preg_match('/^\$branch\s*=\s*[\'"]([0-9]+)[\'"]\s*;/m', $text, $m) ? $m[1] : 'none';
    if ($branch !== BRANCH) {
        refuse("$file declares branch $branch; allowed: " . BRANCH . " (Moodle 5.1), the only layout the image is proven with");
    }
}

$mode = $argv[1] ?? '';
if ($mode === 'code' && isset($argv[2])) {
    check_code(rtrim($argv[2], '/'));
    exit(0);
}
if ($mode !== 'config') {
    refuse('usage: check-image.php code DIRROOT | config');
}

$dirroot = (string)getenv('MOODLE_DIRROOT');
check_code($dirroot);
define('CLI_SCRIPT', true);
define('ABORT_AFTER_CONFIG', true);
require "$dirroot/config.php";

// config.php names the bundle libpq verifies the database's certificate with.
if (!empty($CFG->dboptions['ssl'])) {
    $ca = (string)getenv('PGSSLROOTCERT');
    $pem = $ca === '' ? false : @file_get_contents($ca);
    if ($pem === false || strpos($pem, '-----BEGIN CERTIFICATE-----') === false) {
        refuse("config.php verifies the database's certificate against " . ($ca ?: 'PGSSLROOTCERT') .
            ", which this image does not have: build it with --build-arg DATABASE_CA_SHA256=<sha256 of the RDS global bundle> (docs/aws.md)");
    }
}
if (strpos((string)($CFG->alternative_file_system_class ?? ''), 'tool_objectfs') !== false) {
    foreach (['tool_objectfs' => 'admin/tool/objectfs', 'local_aws' => 'local/aws'] as $component => $dir) {
        if (!is_file("$dirroot/public/$dir/version.php")) {
            refuse("config.php stores files in S3 through tool_objectfs, but this image has no $component " .
                "(public/$dir): build it with the moodle.plugins of the stack (docs/aws.md)");
        }
    }
}
