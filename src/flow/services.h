// Services: the node's services (vault, key store, identity, network map, ...) as flows reach
// them, by type: `Vault* vault = ctx.service<Vault>();`. The node fills one at start-up and passes
// it in FlowEngineOptions; the engine does not own the services, which must outlive it.
//
// The determinism rule applies (docs/flows.md): what a flow reads from a service must come through
// ctx.record(...) (journalled), and what it changes through ctx.write(...) (in the step's
// transaction), so that a replay sees and does the same. Filled before the engine starts, then
// read-only; not thread-safe while being filled.
#pragma once

#include <map>
#include <typeindex>
#include <typeinfo>

namespace folio::flow {

class Services {
 public:
  // Registers `service` as the T of this node, replacing an earlier one.
  template <class T>
  void add(T& service) {
    services_[std::type_index(typeid(T))] = &service;
  }
  // The registered T, or nullptr.
  template <class T>
  T* find() const {
    auto it = services_.find(std::type_index(typeid(T)));
    return it == services_.end() ? nullptr : static_cast<T*>(it->second);
  }

 private:
  std::map<std::type_index, void*> services_;
};

}  // namespace folio::flow
