// Writes a shard of generated scenes for the toy-model trainer (contract: src/data/shards.ts).
//   node src/dist/cli/shards.js --task <task> --n <N> --seed <S> --out <DIR> [--size 64] [--split train|heldout]
//   node src/dist/cli/shards.js --list     (task names and descriptions)
import { TASK_NAMES, getTask } from "../data/tasks";
import { writeShard } from "../data/shards";
import { checkSplit } from "../data/pools";

const USAGE =
  "usage: node src/dist/cli/shards.js --task <task> --n <N> --seed <S> --out <DIR> [--size 64] [--split train|heldout]\n" +
  `tasks: ${TASK_NAMES.join(", ")}`;

function parseArgs(argv: string[]): Record<string, string> {
  const args: Record<string, string> = {};
  const known = new Set(["task", "n", "seed", "out", "size", "split"]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--list" || a === "--help" || a === "-h") {
      args[a.replace(/^-+/, "")] = "1";
      continue;
    }
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(a);
    if (!m || !known.has(m[1])) throw new Error(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
    const v = m[2] ?? argv[++i];
    if (v === undefined) throw new Error(`--${m[1]} needs a value\n${USAGE}`);
    args[m[1]] = v;
  }
  return args;
}

function intArg(args: Record<string, string>, name: string, fallback?: number): number {
  const v = args[name];
  if (v === undefined) {
    if (fallback === undefined) throw new Error(`--${name} is required\n${USAGE}`);
    return fallback;
  }
  if (!/^-?\d+$/.test(v)) throw new Error(`--${name} must be an integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log(USAGE);
    return;
  }
  if (args.list) {
    for (const t of TASK_NAMES) console.log(`${t}\t${getTask(t).describe}`);
    return;
  }
  if (args.task === undefined) throw new Error(`--task is required\n${USAGE}`);
  getTask(args.task);
  if (args.out === undefined) throw new Error(`--out is required\n${USAGE}`);
  const info = await writeShard({
    task: args.task,
    n: intArg(args, "n"),
    seed: intArg(args, "seed"),
    out: args.out,
    size: intArg(args, "size", 64),
    split: checkSplit(args.split ?? "train"),
  });
  process.stderr.write(`${info.task} ${info.split}: ${info.n} scenes ${info.width}x${info.height}x${info.frames} in ${info.seconds.toFixed(2)} s (${Math.round(info.scenes_per_second)} scenes/s) -> ${args.out}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`shards: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
