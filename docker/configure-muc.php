<?php
// Puts Moodle's application cache (MUC) in Redis through Moodle's own cache
// administration API, as an administrator would on the cache admin page: a Redis
// store instance and the application mode mapped to it. The install/upgrade hook runs
// it after every successful install, upgrade or check, so the configuration in
// moodledata (muc/config.php, shared by every node) follows the stack's (a new Redis
// endpoint, a rotated password) and is written only when it differs.
//
// The store's settings come from the rendered config.php ($CFG->moodle_cluster_muc,
// cachestore_redis's own configuration keys). tool_forcedcache, which would define
// the stores in config.php instead, declares support up to Moodle 4.5 only.
//
// Exits non-zero, failing the hook, when the store cannot reach Redis: a cluster
// without its application cache would run, slowly, on the per-request fallback.

define('CLI_SCRIPT', true);
require getenv('MOODLE_DIRROOT') . '/config.php';

use core_cache\config_writer;
use core_cache\store;

if (empty($CFG->moodle_cluster_muc['configuration'])) {
    echo "configure-muc: config.php names no MUC store; leaving the cache configuration alone\n";
    exit(0);
}
$name = $CFG->moodle_cluster_muc['name'];
$configuration = $CFG->moodle_cluster_muc['configuration'];

// The store class lives in its plugin's lib.php, which Moodle loads on demand.
require_once($CFG->dirroot . '/cache/stores/redis/lib.php');
$probe = new cachestore_redis($name, $configuration);
if (!$probe->is_ready()) {
    fwrite(STDERR, "configure-muc: the Redis store cannot reach {$configuration['server']}\n");
    exit(1);
}

$writer = config_writer::instance();
$stores = $writer->get_all_stores();
if (!isset($stores[$name])) {
    $writer->add_store_instance($name, 'redis', $configuration);
    echo "configure-muc: added the store $name\n";
} else if ($stores[$name]['configuration'] != $configuration) {
    $writer->edit_store_instance($name, 'redis', $configuration);
    echo "configure-muc: updated the store $name\n";
}

// The application cache in Redis; sessions and requests keep Moodle's defaults (the
// PHP session, which is in Redis already, and the request's memory).
$want = [
    store::MODE_APPLICATION => [$name],
    store::MODE_SESSION => ['default_session'],
    store::MODE_REQUEST => ['default_request'],
];
$have = [];
foreach ($writer->get_mode_mappings() as $mapping) {
    $have[$mapping['mode']][(int)$mapping['sort']] = $mapping['store'];
}
foreach ($have as $mode => $names) {
    ksort($names);
    $have[$mode] = array_values($names);
}
ksort($have);
ksort($want);
if ($have != $want) {
    $writer->set_mode_mappings($want);
    echo "configure-muc: application caches now in $name\n";
}
