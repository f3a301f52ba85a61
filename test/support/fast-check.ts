// Property tests run with a fixed seed so `npm test` (and CI) is reproducible; FC_SEED=<n> picks another
// seed and FC_SEED=random explores a fresh one each run.
import fc from "fast-check";

const seed = process.env.FC_SEED;
if (seed !== "random") fc.configureGlobal({ seed: seed === undefined ? 20261123 : Number(seed) });
