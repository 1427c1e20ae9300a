// Checks a source map against the v3 format (https://tc39.es/ecma426/): stdin is the map's JSON,
// stdout one JSON line {ok, problems, segments}. Segments are decoded with @jridgewell/sourcemap-codec,
// independently of the proxy's own decoder (symbolic).
import { decode } from '@jridgewell/sourcemap-codec';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const problems = [];
let segments = 0;

function checkRegular(map, where) {
  if (map.version !== 3) problems.push(`${where}: version is ${map.version}, not 3`);
  if (!Array.isArray(map.sources) || map.sources.some((s) => typeof s !== 'string')) problems.push(`${where}: sources is not an array of strings`);
  if (!Array.isArray(map.sourcesContent) || map.sourcesContent.length !== map.sources.length
    || map.sourcesContent.some((s) => typeof s !== 'string')) problems.push(`${where}: sourcesContent does not match sources`);
  if (!Array.isArray(map.names) || map.names.some((s) => typeof s !== 'string')) problems.push(`${where}: names is not an array of strings`);
  if (typeof map.mappings !== 'string' || !/^[A-Za-z0-9+/,;]*$/.test(map.mappings)) {
    problems.push(`${where}: mappings is not a base64 VLQ string`);
    return;
  }
  const lines = (map.sourcesContent ?? []).map((s) => s.split(/\r\n|\r|\n/));
  let decoded;
  try {
    decoded = decode(map.mappings);
  } catch (e) {
    problems.push(`${where}: mappings do not decode: ${e.message}`);
    return;
  }
  decoded.forEach((line, generatedLine) => {
    let last = -1;
    for (const s of line) {
      segments += 1;
      const at = `${where}: generated ${generatedLine + 1}:${s[0]}`;
      if (![1, 4, 5].includes(s.length)) problems.push(`${at}: segment of ${s.length} fields`);
      if (s[0] < last) problems.push(`${at}: columns out of order`);
      last = s[0];
      if (s.length >= 4) {
        const src = lines[s[1]];
        if (src === undefined) problems.push(`${at}: source index ${s[1]} out of range`);
        else if (s[2] < 0 || s[2] >= src.length) problems.push(`${at}: original line ${s[2] + 1} outside the source (${src.length} lines)`);
        else if (s[3] < 0 || s[3] > src[s[2]].length) problems.push(`${at}: original column ${s[3]} past its line`);
      }
      if (s.length === 5 && (s[4] < 0 || s[4] >= map.names.length)) problems.push(`${at}: name index out of range`);
    }
  });
}

const map = JSON.parse(Buffer.concat(chunks).toString('utf8'));
if (Array.isArray(map.sections)) {
  if (map.version !== 3) problems.push('index map: version is not 3');
  let previous = { line: -1, column: -1 };
  map.sections.forEach((section, i) => {
    const { line, column } = section.offset ?? {};
    if (!Number.isInteger(line) || !Number.isInteger(column)) problems.push(`section ${i}: offset is not {line, column}`);
    if (line < previous.line || (line === previous.line && column <= previous.column)) problems.push(`section ${i}: offsets out of order`);
    previous = { line, column };
    if (section.url !== undefined || typeof section.map !== 'object') problems.push(`section ${i}: needs an embedded map`);
    else checkRegular(section.map, `section ${i}`);
  });
} else {
  checkRegular(map, 'map');
}
process.stdout.write(`${JSON.stringify({ ok: problems.length === 0, problems: problems.slice(0, 20), segments })}\n`);
