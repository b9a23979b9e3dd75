// FlowRegistry: the flows a node can start and the responders it runs when a peer initiates a
// session (Corda's @InitiatingFlow / @InitiatedBy). Apps register their own; nothing in the engine
// assumes a fixed list (ARCHITECTURE.md section 4, "Apps").
//
// An initiating flow is a struct F with
//   static constexpr std::string_view kName;      // reverse-DNS style, unique in the registry
//   FOLIO_FIELDS(...)                             // its arguments, stored to re-create it
//   Flow<R> call(FlowContext&);                   // R encodable with the codec (or void)
// A responder is a default-constructible struct with kName and `Flow<R> call(FlowContext&,
// Session)`, registered for the name of the flow whose sessions it answers.
//
// Filled once at start-up, then read by the engine: not thread-safe while being filled.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"
#include "codec/codec.h"
#include "flow/context.h"
#include "flow/flow.h"

namespace folio::flow {

// A type-erased root flow: the engine runs `run` and stores its encoded result.
class FlowLogic {
 public:
  virtual ~FlowLogic() = default;
  virtual Flow<Bytes> run(FlowContext& ctx) = 0;
};

namespace internal {
template <class R>
Bytes encode_result(const Result<R>& r) {
  return codec::encode_to_bytes(r.value());
}
inline Bytes encode_result(const Status&) { return {}; }

template <class F>
class InitiatingLogic final : public FlowLogic {
 public:
  explicit InitiatingLogic(F flow) : flow_(std::move(flow)) {}
  Flow<Bytes> run(FlowContext& ctx) override {
    auto result = co_await flow_.call(ctx);
    if (!result.ok()) co_return result.error();
    co_return encode_result(result);
  }

 private:
  F flow_;
};

template <class F>
class ResponderLogic final : public FlowLogic {
 public:
  Flow<Bytes> run(FlowContext& ctx) override {
    auto result = co_await flow_.call(ctx, ctx.initiating_session());
    if (!result.ok()) co_return result.error();
    co_return encode_result(result);
  }

 private:
  F flow_{};
};
}  // namespace internal

class FlowRegistry {
 public:
  // Builds the flow from its stored arguments; kMalformed when they do not decode.
  using Factory = std::function<Result<std::unique_ptr<FlowLogic>>(ByteView args)>;
  using ResponderFactory = std::function<std::unique_ptr<FlowLogic>()>;

  struct Responder {
    std::string name;
    ResponderFactory factory;
  };

  // kConflict when the name is taken.
  Status add(std::string name, Factory factory);
  Status add_responder(std::string initiating_flow, std::string responder_name,
                       ResponderFactory factory);

  template <class F>
  Status register_flow() {
    return add(std::string(F::kName), [](ByteView args) -> Result<std::unique_ptr<FlowLogic>> {
      auto flow = codec::decode_from_bytes<F>(args);
      if (!flow.ok()) return flow.error();
      return std::unique_ptr<FlowLogic>(new internal::InitiatingLogic<F>(std::move(flow).value()));
    });
  }

  // Registers responder R for sessions initiated by the flow named `initiating_flow`.
  template <class R>
  Status register_responder(std::string_view initiating_flow) {
    return add_responder(std::string(initiating_flow), std::string(R::kName), [] {
      return std::unique_ptr<FlowLogic>(new internal::ResponderLogic<R>());
    });
  }

  const Factory* find(std::string_view name) const;
  const Responder* find_responder(std::string_view initiating_flow) const;

 private:
  std::map<std::string, Factory, std::less<>> flows_;
  std::map<std::string, Responder, std::less<>> responders_;
};

}  // namespace folio::flow
