<?php
// Runs Moodle's admin/cli/install_database.php with the admin password read from a
// secret file (MOODLE_ADMIN_PASSWORD_FILE) or the environment, handing it over in
// $_SERVER['argv'] instead of a command line that every process on the host can read.

function setting(string $name, bool $secret = false): string {
    $file = getenv($name . '_FILE');
    if ($secret && $file !== false && $file !== '') {
        $value = @file_get_contents($file);
        if ($value === false) {
            fwrite(STDERR, "cannot read {$name}_FILE ($file)\n");
            exit(1);
        }
        return trim($value);
    }
    $value = getenv($name);
    if ($value === false || $value === '') {
        fwrite(STDERR, "$name" . ($secret ? " or {$name}_FILE" : '') . " must be set\n");
        exit(1);
    }
    return $value;
}

$script = getenv('MOODLE_WEBROOT') . '/admin/cli/install_database.php';
$_SERVER['argv'] = [
    $script,
    '--agree-license',
    '--lang=' . (getenv('MOODLE_LANG') ?: 'en'),
    '--adminuser=' . setting('MOODLE_ADMIN_USER'),
    '--adminpass=' . setting('MOODLE_ADMIN_PASSWORD', true),
    '--adminemail=' . setting('MOODLE_ADMIN_EMAIL'),
    '--fullname=' . setting('MOODLE_SITE_FULLNAME'),
    '--shortname=' . setting('MOODLE_SITE_SHORTNAME'),
];
$_SERVER['argc'] = count($_SERVER['argv']);
$argv = $_SERVER['argv'];
$argc = $_SERVER['argc'];

require $script;
