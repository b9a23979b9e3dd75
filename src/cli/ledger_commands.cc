#include "cli/commands.h"

namespace folio::cli {

void add_ledger_commands(CLI::App& app, Groups& groups) {
  (void)app;
  (void)groups;
}

}  // namespace folio::cli
