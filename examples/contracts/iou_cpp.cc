// example.IOU again, written in C++ (freestanding: no exceptions, RTTI or standard library) to
// show that the SDK serves C++ contracts too. Same rules and reasons as iou.c and the native twin;
// iou_test.cc runs every case through all three.
#include <folio/contract.h>

namespace {

struct Iou {
  folio_bytes lender;
  folio_bytes borrower;
  uint64_t amount;

  // IouState = lender:PublicKey borrower:PublicKey amount:u64, nothing after.
  static bool decode(folio_bytes data, Iou& out) {
    folio_reader r = folio_reader_of(data);
    out.lender = folio_read_key(&r);
    out.borrower = folio_read_key(&r);
    out.amount = folio_read_u64(&r);
    return folio_reader_done(&r);
  }
};

class View {
 public:
  View() {
    if (folio_view_parse(&view_, folio_load_view()) != 0)
      folio_fail("contract view does not decode");
    folio_next_view_state(&view_.inputs, &input_);
    folio_next_view_state(&view_.outputs, &output_);
    folio_next_view_command(&view_.commands, &command_);
  }
  uint32_t inputs() const { return view_.input_count; }
  uint32_t outputs() const { return view_.output_count; }
  uint32_t commands() const { return view_.command_count; }
  const folio_view_state& first_input() const { return input_; }
  const folio_view_state& first_output() const { return output_; }
  const folio_command& command() const { return command_; }

 private:
  folio_view view_;
  folio_view_state input_{};
  folio_view_state output_{};
  folio_command command_{};
};

int32_t create(const View& v) {
  if (v.inputs() != 0) folio_fail("create consumes no IOU");
  if (v.outputs() != 1) folio_fail("create makes exactly one IOU");
  Iou iou;
  if (!Iou::decode(v.first_output().data, iou)) folio_fail("the output is not an IOU");
  if (iou.amount == 0) folio_fail("an IOU is for a positive amount");
  if (folio_bytes_equal(iou.lender, iou.borrower)) folio_fail("lender and borrower must differ");
  auto signs = [&v](folio_bytes key) { return folio_command_signed_by(&v.command(), key) != 0; };
  if (!signs(iou.lender) || !signs(iou.borrower))
    folio_fail("create must be signed by lender and borrower");
  return 0;
}

int32_t settle(const View& v) {
  if (v.inputs() != 1 || v.outputs() != 0) folio_fail("settle consumes one IOU and makes none");
  Iou iou;
  if (!Iou::decode(v.first_input().data, iou)) folio_fail("the input is not an IOU");
  if (!folio_command_signed_by(&v.command(), iou.lender))
    folio_fail("settle must be signed by the lender");
  return 0;
}

}  // namespace

extern "C" FOLIO_EXPORT(folio_verify) int32_t folio_verify() {
  View v;
  if (v.commands() != 1) folio_fail("exactly one IOU command is required");
  if (v.command().params.len != 0) folio_fail("IOU commands take no parameters");
  if (folio_bytes_is(v.command().name, "create")) return create(v);
  if (folio_bytes_is(v.command().name, "settle")) return settle(v);
  folio_fail("unknown IOU command");
}
