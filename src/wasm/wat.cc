// WAT parsing for tests and tools (see wat.h). Compiled as C++17.
#include "wasm/wat.h"

#include <wabt/binary-writer.h>
#include <wabt/ir.h>
#include <wabt/resolve-names.h>
#include <wabt/stream.h>
#include <wabt/wast-lexer.h>
#include <wabt/wast-parser.h>

namespace folio::wasm {

bool wat_to_wasm(const std::string& text, std::vector<uint8_t>* out, std::string* error) {
  wabt::Errors errors;
  wabt::Features features;
  features.EnableAll();
  features.disable_memory64();
  std::unique_ptr<wabt::WastLexer> lexer =
      wabt::WastLexer::CreateBufferLexer("module.wat", text.data(), text.size(), &errors);
  std::unique_ptr<wabt::Module> module;
  wabt::WastParseOptions options(features);
  if (wabt::Failed(wabt::ParseWatModule(lexer.get(), &module, &errors, &options)) ||
      wabt::Failed(wabt::ResolveNamesModule(module.get(), &errors))) {
    *error = errors.empty() ? "could not parse" : errors.front().message;
    return false;
  }
  wabt::MemoryStream stream;
  wabt::WriteBinaryOptions write_options(features, true, false, false);
  if (wabt::Failed(wabt::WriteBinaryModule(&stream, module.get(), write_options))) {
    *error = "could not write the binary module";
    return false;
  }
  *out = std::move(stream.output_buffer().data);
  return true;
}

}  // namespace folio::wasm
