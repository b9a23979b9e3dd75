#include "flow/registry.h"

namespace folio::flow {

Status FlowRegistry::add(std::string name, Factory factory) {
  if (name.empty()) return make_error(ErrorCode::kInvalidArgument, "a flow needs a name");
  if (flows_.count(name) != 0) {
    return make_error(ErrorCode::kConflict, "a flow is already registered as '" + name + "'");
  }
  flows_.emplace(std::move(name), std::move(factory));
  return ok_status();
}

Status FlowRegistry::add_responder(std::string initiating_flow, std::string responder_name,
                                   ResponderFactory factory) {
  if (initiating_flow.empty() || responder_name.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "a responder needs a name and a flow to answer");
  }
  if (responders_.count(initiating_flow) != 0) {
    return make_error(ErrorCode::kConflict,
                      "a responder is already registered for '" + initiating_flow + "'");
  }
  responders_.emplace(std::move(initiating_flow),
                      Responder{std::move(responder_name), std::move(factory)});
  return ok_status();
}

const FlowRegistry::Factory* FlowRegistry::find(std::string_view name) const {
  auto it = flows_.find(name);
  return it == flows_.end() ? nullptr : &it->second;
}

const FlowRegistry::Responder* FlowRegistry::find_responder(std::string_view initiating_flow) const {
  auto it = responders_.find(initiating_flow);
  return it == responders_.end() ? nullptr : &it->second;
}

}  // namespace folio::flow
