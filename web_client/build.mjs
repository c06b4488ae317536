// Builds the browser client into dist/: one bundle per page, code-split into
// content-hashed chunks, plus dist/manifest.json for the server
// (conf_server/http/client_bundle.py). Run with `npm run build`;
// scripts/setup.sh does.
//
// The manifest names, for each entry, its hashed file and the chunks it
// imports statically (transitively), so the server can announce them with
// <link rel="modulepreload">; a dynamic import() becomes a chunk of its own
// that is loaded when the code asks for it. `digest` is the sources' digest
// (sourceDigest below): the server uses dist/ only while it still matches.

import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

const root = dirname(fileURLToPath(import.meta.url));
const outdir = join(root, "dist");

/** The pages' entry modules and the stylesheet, relative to this folder. */
const ENTRIES = ["js/room.js", "js/landing.js", "js/admin.js", "js/share_page.js", "css/app.css"];
/** Folders and files whose bytes make the sources' digest; the server hashes the same. */
const DIGEST_FOLDERS = ["js", "css", "locales"];
const DIGEST_FILES = ["build.mjs", "package.json", "package-lock.json"];
/** The sources import the socket.io client from the URL the server serves it at. */
const SOCKET_IO_URL = /^\/vendor\/socket\.io\.esm\.min\.js$/;
const SOCKET_IO_FILE = join(root, "node_modules/socket.io-client/dist/socket.io.esm.min.js");
/** Browsers of the last few years: syntax they all know is left as it is. */
const TARGET = ["chrome111", "edge111", "firefox115", "safari16.4"];

/** @param {string} folder @returns {string[]} every file under it, relative to root, posix. */
function filesUnder(folder) {
  const found = [];
  for (const entry of readdirSync(join(root, folder), { withFileTypes: true })) {
    const path = `${folder}/${entry.name}`;
    if (entry.isDirectory()) found.push(...filesUnder(path));
    else if (entry.isFile()) found.push(path);
  }
  return found;
}

/**
 * sha256 over `path + "\0" + bytes + "\0"` of each source file, in the byte
 * order of the paths (conf_server/http/client_bundle.py: source_digest).
 */
function sourceDigest() {
  const paths = [...DIGEST_FOLDERS.flatMap(filesUnder), ...DIGEST_FILES];
  paths.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const hash = createHash("sha256");
  for (const path of paths) {
    hash.update(`${path}\0`);
    hash.update(readFileSync(join(root, path)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

/** Bundles the socket.io client in instead of leaving its URL to the browser. */
const socketIoPlugin = {
  name: "socket.io-client",
  /** @param {esbuild.PluginBuild} build */
  setup(build) {
    build.onResolve({ filter: SOCKET_IO_URL }, () => ({ path: SOCKET_IO_FILE }));
  },
};

/** @param {string} output an output path of the metafile @returns {string} it relative to dist/, posix */
const inDist = (output) => relative(outdir, join(root, output)).split(sep).join("/");

/**
 * The chunks `output` imports statically, and those they import, in order.
 * @param {esbuild.Metafile} metafile @param {string} output
 */
function staticChunks(metafile, output) {
  const found = [];
  const queue = [output];
  while (queue.length > 0) {
    for (const imported of metafile.outputs[queue.shift()].imports) {
      if (imported.kind !== "import-statement" || imported.external) continue;
      if (!found.includes(imported.path)) {
        found.push(imported.path);
        queue.push(imported.path);
      }
    }
  }
  return found.map(inDist);
}

/** @param {esbuild.Metafile} metafile @param {string} digest */
function manifest(metafile, digest) {
  const entries = {};
  for (const [output, info] of Object.entries(metafile.outputs)) {
    // Modules that are only imported dynamically are entry points too: not ours.
    if (!ENTRIES.includes(info.entryPoint)) continue;
    const entry = { file: inDist(output) };
    if (output.endsWith(".js")) entry.imports = staticChunks(metafile, output);
    entries[info.entryPoint] = entry;
  }
  const files = Object.keys(metafile.outputs).map(inDist).sort();
  return { digest, entries, files };
}

async function build() {
  const digest = sourceDigest();
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir);
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ENTRIES,
    outbase: root,
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    minify: true,
    target: TARGET,
    sourcemap: "linked",
    entryNames: "[dir]/[name]-[hash]",
    chunkNames: "js/chunk-[hash]",
    assetNames: "assets/[name]-[hash]",
    metafile: true,
    logLevel: "warning",
    plugins: [socketIoPlugin],
  });
  // Written last and whole: a server starting meanwhile sees none or all of it.
  const temporary = join(outdir, "manifest.json.tmp");
  writeFileSync(temporary, `${JSON.stringify(manifest(result.metafile, digest), null, 2)}\n`);
  renameSync(temporary, join(outdir, "manifest.json"));
}

await build();
