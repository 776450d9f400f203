// Preloaded into the CLI by the hostile suite (node --import): at exit, writes the process's
// peak resident set size in KiB (getrusage's ru_maxrss) to $ALEXNET_RSS_FILE.
import { writeFileSync } from 'node:fs';

const file = process.env.ALEXNET_RSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
