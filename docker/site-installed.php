<?php
// Prints "empty" when Moodle's tables are missing from the database config.php names,
// "installed" when they exist; exits non-zero when the database cannot be reached.
//
// It reads $CFG from config.php with ABORT_AFTER_CONFIG (no Moodle bootstrap, no
// database connection by Moodle) and asks PostgreSQL directly: Moodle itself cannot
// tell an empty database from a broken connection without printing an install page.

define('CLI_SCRIPT', true);
define('ABORT_AFTER_CONFIG', true);
require getenv('MOODLE_DIRROOT') . '/config.php';

function pg_quote_value(string $v): string {
    return "'" . str_replace(["\\", "'"], ["\\\\", "\\'"], $v) . "'";
}

$params = [
    'host' => $CFG->dbhost,
    'dbname' => $CFG->dbname,
    'user' => $CFG->dbuser,
    'password' => (string) $CFG->dbpass,
    'connect_timeout' => '5',
];
if (!empty($CFG->dboptions['dbport'])) {
    $params['port'] = (string) $CFG->dboptions['dbport'];
}
// As Moodle's driver does: 'ssl' is libpq's sslmode (verify-full on AWS, with the CA
// bundle config.php names in PGSSLROOTCERT), so this check sends the password only
// to the verified server.
if (!empty($CFG->dboptions['ssl'])) {
    $params['sslmode'] = (string) $CFG->dboptions['ssl'];
}
$conninfo = [];
foreach ($params as $k => $v) {
    $conninfo[] = $k . '=' . pg_quote_value($v);
}

$db = @pg_connect(implode(' ', $conninfo));
if ($db === false) {
    fwrite(STDERR, "cannot connect to database {$CFG->dbname} on {$CFG->dbhost}\n");
    exit(1);
}
$result = @pg_query_params($db, 'SELECT to_regclass($1) IS NOT NULL', [$CFG->prefix . 'config']);
if ($result === false) {
    fwrite(STDERR, 'query failed: ' . pg_last_error($db) . "\n");
    exit(1);
}
echo pg_fetch_result($result, 0, 0) === 't' ? "installed\n" : "empty\n";
