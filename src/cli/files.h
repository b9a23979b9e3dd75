// Whole-file reads and writes for the CLI, with errors as Results (never exceptions): a directory,
// a missing file, a file over the caller's size bound or an unwritable path each give a message.
#pragma once

#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace folio::cli {

// The whole of a regular file of at most `bytes_max` bytes.
Result<Bytes> read_file(const std::string& path, size_t bytes_max);
// Creates missing parent directories, then writes `bytes` over the file.
Status write_file(const std::string& path, ByteView bytes);

}  // namespace folio::cli
