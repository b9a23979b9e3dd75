// FlowEngine::Live, a resident flow's coroutine frame and context: private to the engine's
// sources (engine.cc, engine_operators.cc), which both need the complete type.
#pragma once

#include <memory>
#include <optional>

#include "flow/context.h"
#include "flow/engine.h"
#include "flow/flow.h"

namespace folio::flow {

// A flow's coroutine frame and context. Members are destroyed in reverse order: the frame first
// (it points into the context and the logic), then the context, then the logic.
struct FlowEngine::Live {
  std::unique_ptr<FlowLogic> logic;
  std::unique_ptr<FlowContext> context;
  std::optional<Flow<Bytes>> root;
  bool started = false;  // resumed at least once since it was built
};

}  // namespace folio::flow
