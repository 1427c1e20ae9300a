// A project's scene artifacts in, one ES module out: a player that shows a project needs all of
// its scenes, and in a browser every separate module costs a fetch, a compile and an evaluation
// on the main thread (~2.5 ms each on our 2-core box even from the HTTP cache), so ten scenes in
// one module load several times faster than ten imports.
//
// esbuild scope-hoists the artifacts (already compiled, host-bound ES modules) into one scope and
// renames clashing top-level names; each scene keeps its own bindings and evaluation order, top-level
// await included. URL imports (import-map entries that are URLs) stay real imports.
//
//   default export: { [sceneId]: component }   (frozen, in the order given)
//   `modules`:      { [sceneId]: the scene module's namespace (every named export) }

const SCENE_NS = 'scene';
const SCENE_RE = /^scene:(\d+)$/;

function entrySource(ids) {
  const lines = ids.map((_, i) => `import * as m${i} from "scene:${i}";`);
  const pairs = (f) => ids.map((id, i) => `${JSON.stringify(id)}: ${f(i)}`).join(',\n  ');
  lines.push(`const modules = Object.freeze({\n  ${pairs((i) => `m${i}`)}\n});`);
  lines.push(`const scenes = Object.freeze({\n  ${pairs((i) => `m${i}.default`)}\n});`);
  lines.push('export { scenes as default, modules };');
  return `${lines.join('\n')}\n`;
}

export async function bundleScenes(esbuild, scenes, target, workDir) {
  const ids = scenes.map((s) => String(s.id));
  const result = await esbuild.build({
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    target,
    charset: 'ascii',
    legalComments: 'none',
    logLevel: 'silent',
    absWorkingDir: workDir,
    stdin: { contents: entrySource(ids), loader: 'js', sourcefile: 'project.js' },
    plugins: [{
      name: 'project-scenes',
      setup(build) {
        build.onResolve({ filter: /.*/ }, (args) => {
          const m = SCENE_RE.exec(args.path);
          // Only the entry names scenes; inside an artifact every import is a URL (host packages
          // are already bound to globals), so it stays an import.
          if (m && args.namespace !== SCENE_NS) return { path: m[1], namespace: SCENE_NS };
          return { path: args.path, external: true };
        });
        build.onLoad({ filter: /.*/, namespace: SCENE_NS }, (args) => ({
          contents: scenes[Number(args.path)].code,
          loader: 'js',
        }));
      },
    }],
  });
  return result.outputFiles[0].text;
}
