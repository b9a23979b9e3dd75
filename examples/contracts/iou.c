/* example.IOU as a WebAssembly contract: the same rules and reasons as its native twin
 * (iou.h / iou_native.cc). Built by folio_wasm_contract(iou ...). */
#include <folio/contract.h>

typedef struct {
  folio_bytes lender;
  folio_bytes borrower;
  uint64_t amount;
} iou_state;

/* IouState = lender:PublicKey borrower:PublicKey amount:u64, nothing after. */
static int decode_iou(folio_bytes data, iou_state* out) {
  folio_reader r = folio_reader_of(data);
  out->lender = folio_read_key(&r);
  out->borrower = folio_read_key(&r);
  out->amount = folio_read_u64(&r);
  return folio_reader_done(&r);
}

FOLIO_EXPORT(folio_verify) int32_t folio_verify(void) {
  folio_view view;
  if (folio_view_parse(&view, folio_load_view()) != 0) folio_fail("contract view does not decode");
  uint32_t in_count = view.input_count, out_count = view.output_count;
  uint32_t command_count = view.command_count;
  folio_view_state input, output;
  folio_command command;
  folio_next_view_state(&view.inputs, &input);
  folio_next_view_state(&view.outputs, &output);
  folio_next_view_command(&view.commands, &command);

  if (command_count != 1) folio_fail("exactly one IOU command is required");
  if (command.params.len != 0) folio_fail("IOU commands take no parameters");
  iou_state iou;
  if (folio_bytes_is(command.name, "create")) {
    if (in_count != 0) folio_fail("create consumes no IOU");
    if (out_count != 1) folio_fail("create makes exactly one IOU");
    if (!decode_iou(output.data, &iou)) folio_fail("the output is not an IOU");
    if (iou.amount == 0) folio_fail("an IOU is for a positive amount");
    if (folio_bytes_equal(iou.lender, iou.borrower)) folio_fail("lender and borrower must differ");
    if (!folio_command_signed_by(&command, iou.lender) ||
        !folio_command_signed_by(&command, iou.borrower))
      folio_fail("create must be signed by lender and borrower");
    return 0;
  }
  if (folio_bytes_is(command.name, "settle")) {
    if (in_count != 1 || out_count != 0) folio_fail("settle consumes one IOU and makes none");
    if (!decode_iou(input.data, &iou)) folio_fail("the input is not an IOU");
    if (!folio_command_signed_by(&command, iou.lender))
      folio_fail("settle must be signed by the lender");
    return 0;
  }
  folio_fail("unknown IOU command");
}
