#include "cli/files.h"

#include <filesystem>
#include <fstream>
#include <system_error>

namespace folio::cli {

Result<Bytes> read_file(const std::string& path, size_t bytes_max) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return make_error(ErrorCode::kIo, path + " is not a readable file");
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot read " + path + ": " + ec.message());
  if (size > bytes_max)
    return make_error(ErrorCode::kLimitExceeded, path + " has " + std::to_string(size) +
                                                     " bytes, more than the limit of " +
                                                     std::to_string(bytes_max));
  std::ifstream in(path, std::ios::binary);
  Bytes out(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(size));
  if (!in) return make_error(ErrorCode::kIo, "cannot read " + path);
  return out;
}

Status write_file(const std::string& path, ByteView bytes) {
  std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  if (ec)
    return make_error(ErrorCode::kIo,
                      "cannot create " + p.parent_path().string() + ": " + ec.message());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) return make_error(ErrorCode::kIo, "cannot write " + path);
  return ok_status();
}

}  // namespace folio::cli
