// Transforms each XForm named on the command line with Enketo's transformer, as an Enketo server
// does before showing a form, and prints one JSON line per file: {"file", "ok", "error"?}.
// One Node process for every file: starting Node and loading libxslt is the slow part.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

// enketo-transformer 4's "import" entry names a file its package lacks; its CommonJS build is complete.
const { transform } = createRequire(import.meta.url)('enketo-transformer');

let failed = 0;
for (const file of process.argv.slice(2)) {
    try {
        const xform = await readFile(file, 'utf8');
        const result = await transform({ xform });
        if (!result.form.includes('<form') || !result.model.includes('<model')) {
            throw new Error('the transformed form has no <form> or no <model>');
        }
        console.log(JSON.stringify({ file, ok: true }));
    } catch (error) {
        failed += 1;
        console.log(JSON.stringify({ file, ok: false, error: String(error?.stack ?? error) }));
    }
}
process.exitCode = failed ? 1 : 0;
