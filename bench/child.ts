/**
 * Runs one measurement in its own process (`node --expose-gc --import tsx bench/child.ts <id>`), so
 * no measurement inherits another's JIT state, heap or leftover servers. Progress goes to stderr;
 * stdout carries only the record, after a marker.
 */
import { type BenchRecord, MEASUREMENTS, type MeasurementId, RECORD_PREFIX } from "./lib/record.js";

interface MeasurementModule {
  measure(): Promise<BenchRecord>;
}

const id = process.argv[2] as MeasurementId | undefined;
if (!id || !MEASUREMENTS.includes(id)) {
  console.error(`usage: child.ts <${MEASUREMENTS.join("|")}>`);
  process.exit(2);
}

const module = (await import(`./${id}.js`)) as MeasurementModule;
const record = await module.measure();
process.stdout.write(`${RECORD_PREFIX}${JSON.stringify(record)}\n`);
// Servers or clients a measurement forgot to close must not keep the run waiting.
process.exit(0);
