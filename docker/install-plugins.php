<?php
// Installs Moodle plugins (and themes) into the image's code at build time, each from
// an archive pinned by a checksum, into the folder Moodle expects its component in.
//
//   php install-plugins.php install WEBROOT ENTRY...   WEBROOT: the release's web root,
//                                                     where lib/components.json is
//   php install-plugins.php digest FOLDER        prints FOLDER's content checksum
//
// ENTRY is component,version,checksum,url (the Dockerfile's MOODLE_PLUGINS, one entry
// per word), for example
//   tool_objectfs,2024120600,content-sha256:<hex>,https://example.org/objectfs.tar.gz
// checksum is either
//   sha256:<hex>          the SHA-256 of the archive file as downloaded, or
//   content-sha256:<hex>  the SHA-256 of what `find . -type f | LC_ALL=C sort |
//                         xargs sha256sum` prints in the plugin's folder: a checksum
//                         of the files themselves, whatever archive format or
//                         compression carried them, so it can be computed from the
//                         plugin's git repository (see `digest`).
// The archive (zip, or tar.gz) holds one folder with the plugin's version.php, as the
// Moodle plugins directory and GitHub's archives do. An entry is refused, and the
// build fails, when the checksum differs, when version.php names another component
// or version, when the component's type is unknown to this Moodle code, when the
// archive holds anything but regular files and folders, or when the folder the
// component belongs in already exists (core code or a plugin listed twice).
//
// The folder comes from the plugin type: core types from the code's own
// lib/components.json of the web root, subplugin types from the db/subplugins.json of the
// plugins already in the code (including those installed by earlier entries).

// fail stops the install; the entry's work folder is removed on the way out.
function fail(string $message): never {
    throw new RuntimeException($message);
}

// content_digest is the content checksum of a folder (see above). Names sha256sum
// would escape (a backslash or a newline) are refused instead.
function content_digest(string $root): string {
    $files = [];
    $it = new RecursiveIteratorIterator(
        new RecursiveDirectoryIterator($root, FilesystemIterator::SKIP_DOTS),
        RecursiveIteratorIterator::SELF_FIRST
    );
    foreach ($it as $info) {
        $rel = substr($info->getPathname(), strlen($root) + 1);
        if ($info->isLink() || !($info->isFile() || $info->isDir())) {
            fail("$rel is neither a regular file nor a folder");
        }
        if (strpbrk($rel, "\\\n") !== false) {
            fail("the file name " . json_encode($rel) . " has a backslash or a line break");
        }
        if ($info->isFile()) {
            $files[] = './' . $rel;
        }
    }
    sort($files, SORT_STRING);
    $lines = '';
    foreach ($files as $file) {
        $lines .= hash_file('sha256', $root . '/' . substr($file, 2)) . '  ' . $file . "\n";
    }
    return hash('sha256', $lines);
}

// plugin_types maps each plugin type the code knows to its folder under the web root.
function plugin_types(string $public): array {
    $json = @file_get_contents("$public/lib/components.json");
    $components = $json === false ? null : json_decode($json, true);
    if (!is_array($components['plugintypes'] ?? null)) {
        fail("$public/lib/components.json has no plugintypes: is this the web root of Moodle code?");
    }
    $types = $components['plugintypes'];
    // A plugin declares its subplugin types in db/subplugins.json: "subplugintypes"
    // relative to the plugin, or the older "plugintypes" relative to the web root.
    foreach ($components['plugintypes'] as $dir) {
        foreach (glob("$public/$dir/*/db/subplugins.json") ?: [] as $file) {
            $sub = json_decode((string)file_get_contents($file), true);
            $plugindir = substr(dirname($file, 2), strlen($public) + 1);
            foreach ($sub['subplugintypes'] ?? [] as $type => $subdir) {
                $types[$type] = "$plugindir/$subdir";
            }
            foreach (isset($sub['subplugintypes']) ? [] : ($sub['plugintypes'] ?? []) as $type => $subdir) {
                $types[$type] = $subdir;
            }
        }
    }
    return $types;
}

// run runs a command without a shell and fails the build when it fails.
function run(array $command): void {
    $proc = proc_open($command, [1 => STDERR, 2 => STDERR], $pipes);
    if (!is_resource($proc) || proc_close($proc) !== 0) {
        fail('failed: ' . implode(' ', $command));
    }
}

// extract unpacks a zip or tar.gz archive into $dir, refusing names that would land
// outside it.
function extract_archive(string $archive, string $dir): void {
    $magic = (string)file_get_contents($archive, false, null, 0, 4);
    if ($magic === "PK\x03\x04") {
        $zip = new ZipArchive();
        if ($zip->open($archive) !== true) {
            fail("cannot open the zip archive");
        }
        for ($i = 0; $i < $zip->numFiles; $i++) {
            $name = $zip->getNameIndex($i);
            if ($name === false || $name[0] === '/' || preg_match('#(^|/)\.\.(/|$)#', $name)) {
                fail("the archive holds a path outside its folder: " . json_encode($name));
            }
        }
        if (!$zip->extractTo($dir)) {
            fail("cannot extract the zip archive");
        }
        $zip->close();
        return;
    }
    if (substr($magic, 0, 2) === "\x1f\x8b") {
        // GNU tar drops leading slashes and refuses members with "..".
        run(['tar', '-xzf', $archive, '-C', $dir, '--no-same-owner', '--no-same-permissions']);
        return;
    }
    fail("the archive is neither zip nor tar.gz");
}

// declared returns what version.php assigns to $plugin->$field, or null.
function declared(string $versionphp, string $field): ?string {
    $pattern = $field === 'component'
        ? '/\$plugin->component\s*=\s*[\'"]([a-z0-9_]+)[\'"]\s*;/'
        : '/\$plugin->version\s*=\s*([0-9]+(?:\.[0-9]+)?)\s*;/';
    return preg_match($pattern, $versionphp, $m) ? $m[1] : null;
}

function install(string $public, string $entry): void {
    $fields = explode(',', $entry);
    if (count($fields) !== 4) {
        fail("entry " . json_encode($entry) . " is not component,version,checksum,url");
    }
    [$component, $version, $checksum, $url] = $fields;
    if (!preg_match('/^([a-z][a-z0-9]*)_([a-z][a-z0-9_]*)$/', $component, $m)) {
        fail("$component is not a Moodle component name (type_name)");
    }
    [, $type, $name] = $m;
    if (!preg_match('/^[0-9]{10}(\.[0-9]+)?$/', $version)) {
        fail("$component: version $version is not a plugin version such as 2024120600");
    }
    if (!preg_match('/^(sha256|content-sha256):([0-9a-f]{64})$/', $checksum, $sum)) {
        fail("$component: checksum $checksum is not sha256:<hex> or content-sha256:<hex>");
    }
    $types = plugin_types($public);
    if (!isset($types[$type])) {
        fail("$component: this Moodle code has no plugin type $type; it has " . implode(', ', array_keys($types)));
    }
    $target = "$public/{$types[$type]}/$name";
    if (file_exists($target)) {
        fail("$component: $target already exists (core code, or the plugin is listed twice)");
    }

    // Work beside the code, so the plugin moves into place with a rename.
    $work = "$public/.install-$component";
    @mkdir($work, 0700, true);
    try {
        $archive = "$work/archive";
        run(['curl', '-fsSL', '--retry', '3', '-o', $archive, $url]);
        if ($sum[1] === 'sha256' && ($got = hash_file('sha256', $archive)) !== $sum[2]) {
            fail("$component: the archive from $url has sha256 $got, want {$sum[2]}");
        }
        mkdir("$work/x", 0755);
        extract_archive($archive, "$work/x");
        $top = array_values(array_diff(scandir("$work/x"), ['.', '..']));
        if (count($top) !== 1 || !is_file("$work/x/{$top[0]}/version.php")) {
            fail("$component: the archive does not hold one folder with version.php (it holds " . implode(', ', $top) . ")");
        }
        $root = "$work/x/{$top[0]}";
        $versionphp = (string)file_get_contents("$root/version.php");
        if (($got = declared($versionphp, 'component')) !== $component) {
            fail("$component: version.php declares component " . json_encode($got));
        }
        if (($got = declared($versionphp, 'version')) === null || (float)$got !== (float)$version) {
            fail("$component: version.php declares version " . json_encode($got) . ", want $version");
        }
        // Computed also for a sha256 entry: it refuses links and odd names.
        $digest = content_digest($root);
        if ($sum[1] === 'content-sha256' && $digest !== $sum[2]) {
            fail("$component: the files from $url have content-sha256 $digest, want {$sum[2]}");
        }
        if (!is_dir(dirname($target)) && !mkdir(dirname($target), 0755, true)) {
            fail("$component: cannot create " . dirname($target));
        }
        if (!rename($root, $target)) {
            fail("$component: cannot move the plugin to $target");
        }
        echo "install-plugins: $component $version installed in $target\n";
    } finally {
        run(['rm', '-rf', $work]);
    }
}

try {
    $mode = $argv[1] ?? '';
    if ($mode === 'digest' && $argc === 3) {
        echo content_digest(rtrim($argv[2], '/')), "\n";
    } else if ($mode === 'install' && $argc >= 3) {
        foreach (array_slice($argv, 3) as $entry) {
            install(rtrim($argv[2], '/'), $entry);
        }
    } else {
        fail("usage: install-plugins.php install WEBROOT ENTRY... | digest FOLDER");
    }
} catch (RuntimeException $e) {
    fwrite(STDERR, "install-plugins: {$e->getMessage()}\n");
    exit(1);
}
