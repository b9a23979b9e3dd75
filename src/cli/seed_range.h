// "A..B" on the command line: the seeds of a simulator sweep.
#pragma once

#include <cstdint>
#include <exception>
#include <string>

namespace folio::cli {

// True, with first <= last, iff text is two decimal numbers joined by "..".
inline bool parse_seed_range(const std::string& text, uint64_t& first, uint64_t& last) {
  size_t dots = text.find("..");
  if (dots == std::string::npos) return false;
  try {
    size_t used = 0;
    first = std::stoull(text.substr(0, dots), &used);
    if (used != dots) return false;
    std::string tail = text.substr(dots + 2);
    last = std::stoull(tail, &used);
    if (used != tail.size()) return false;
  } catch (const std::exception&) {
    return false;
  }
  return first <= last;
}

}  // namespace folio::cli
