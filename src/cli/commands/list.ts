import { Command } from "commander";
import { formatLeft, listSwitches } from "../../ops/actions/list.js";
import { action, emit, withOpsOptions } from "../ops.js";

/** `containment list`: the kill switches in Edge Config, with state, time left and who flipped them. */
export function listCommand(): Command {
  const command = new Command("list")
    .description("list kill switches: active, expiring (within 15 min), expired but still present")
    .addHelpText(
      "after",
      "\nExample:\n  $ containment list --json | jq '.switches[] | select(.state == \"expired\")'",
    );
  withOpsOptions(command);
  return command.action(
    action(async ({ ctx }, flags) => {
      const rows = await listSwitches(ctx);
      const human =
        rows.length === 0
          ? ["no kill switches in Edge Config"]
          : rows.map((r) =>
              `${r.state.padEnd(8)} ${r.id}@${r.version}  ${r.match}  ${formatLeft(r.leftMs)}  by ${r.by ?? "?"}  ${r.incident ?? ""}  ${r.reason ?? ""}`.trimEnd(),
            );
      emit(flags, { switches: rows.map(({ item: _item, ...row }) => row) }, human);
      return 0;
    }),
  );
}
