<?php
// Refuses code or configuration the image is not proven to serve, before anything
// runs it:
//
//   php check-image.php code DIRROOT   (the build) the Moodle code is the release
//                                      the image was built for
//   php check-image.php config         (the entry point) also: what the rendered
//                                      config.php needs is in the image
//
// The release comes from the build: MOODLE_BRANCH is its version.php $branch and
// MOODLE_WEBROOT where it keeps version.php, lib/ and admin/cli/ (the code root for
// 4.5, public/ from 5.1 on; topology's release table). Code of another branch, or
// laid out otherwise, would be served with the wrong web root and CLI paths. The
// config check reads config.php the way Moodle does (ABORT_AFTER_CONFIG: no
// database connection) and refuses a database connection verified against a CA
// bundle the image lacks (an image built without DATABASE_CA_SHA256 on AWS), and S3
// storage through tool_objectfs without the plugins in the code.

function refuse(string $message): void {
    fwrite(STDERR, "check-image: $message\n");
    exit(1);
}

// release returns the web root and branch the image was built for.
function release(): array {
    $webroot = rtrim((string)getenv('MOODLE_WEBROOT'), '/');
    $branch = (string)getenv('MOODLE_BRANCH');
    if ($webroot === '' || !preg_match('/^[0-9]{3}$/', $branch)) {
        refuse('MOODLE_WEBROOT and MOODLE_BRANCH must name the release the image is built for (the stack sets them)');
    }
    return [$webroot, $branch];
}

function check_code(): void {
    [$webroot, $want] = release();
    $file = "$webroot/version.php";
    $text = @file_get_contents($file);
    if ($text === false) {
        refuse("$file is missing: this is not the code of branch $want, whose web root is $webroot");
    }
    $branch = preg_match('/^\$branch\s*=\s*[\'"]([0-9]+)[\'"]\s*;/m', $text, $m) ? $m[1] : 'none';
    if ($branch !== $want) {
        refuse("$file declares branch $branch; allowed: $want, the release this image is built for (moodle:moodle.version)");
    }
}

$mode = $argv[1] ?? '';
if ($mode === 'code' && isset($argv[2])) {
    check_code();
    exit(0);
}
if ($mode !== 'config') {
    refuse('usage: check-image.php code DIRROOT | config');
}

$dirroot = (string)getenv('MOODLE_DIRROOT');
check_code();
[$webroot] = release();
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
        if (!is_file("$webroot/$dir/version.php")) {
            refuse("config.php stores files in S3 through tool_objectfs, but this image has no $component " .
                "($webroot/$dir): build it with the moodle.plugins of the stack (docs/aws.md)");
        }
    }
}
