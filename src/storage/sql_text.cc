#include "storage/sql_text.h"

#include <cctype>

namespace folio::storage {
namespace {

bool is_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '$';
}

char upper(char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); }

// If a quoted section, comment or dollar-quoted string starts at `i`, the index just past its end
// (the end of the text if it is unterminated); otherwise `i` itself.
size_t skip_quoted(std::string_view s, size_t i) {
  const size_t n = s.size();
  const char c = s[i];
  if (c == '-' && i + 1 < n && s[i + 1] == '-') {
    size_t end = s.find('\n', i);
    return end == std::string_view::npos ? n : end + 1;
  }
  if (c == '/' && i + 1 < n && s[i + 1] == '*') {
    size_t end = s.find("*/", i + 2);
    return end == std::string_view::npos ? n : end + 2;
  }
  if (c == '\'' || c == '"') {
    // E'...' (PostgreSQL's escape strings) treat a backslash as an escape.
    const bool escapes = c == '\'' && i > 0 && upper(s[i - 1]) == 'E' &&
                         (i == 1 || !is_word_char(s[i - 2]));
    size_t j = i + 1;
    while (j < n) {
      if (escapes && s[j] == '\\') {
        j += 2;
        continue;
      }
      if (s[j] == c) {
        if (j + 1 < n && s[j + 1] == c) {  // a doubled quote stands for itself
          j += 2;
          continue;
        }
        return j + 1;
      }
      ++j;
    }
    return n;
  }
  if (c == '$' && (i == 0 || !is_word_char(s[i - 1]))) {
    size_t j = i + 1;
    while (j < n && (std::isalpha(static_cast<unsigned char>(s[j])) != 0 || s[j] == '_')) ++j;
    if (j < n && s[j] == '$') {
      std::string_view tag = s.substr(i, j - i + 1);
      size_t end = s.find(tag, j + 1);
      return end == std::string_view::npos ? n : end + tag.size();
    }
  }
  return i;
}

bool word_is(std::string_view word, std::string_view keyword) {
  if (word.size() != keyword.size()) return false;
  for (size_t k = 0; k < word.size(); ++k)
    if (upper(word[k]) != keyword[k]) return false;
  return true;
}

}  // namespace

std::string first_keyword(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size()) {
    if (std::isspace(static_cast<unsigned char>(sql[i])) != 0) {
      ++i;
      continue;
    }
    const bool comment = (sql[i] == '-' || sql[i] == '/') && skip_quoted(sql, i) != i;
    if (comment) {
      i = skip_quoted(sql, i);
      continue;
    }
    break;
  }
  std::string word;
  while (i < sql.size() && is_word_char(sql[i])) word.push_back(upper(sql[i++]));
  return word;
}

std::string sql_head(std::string_view sql) {
  constexpr size_t kHeadCharsMax = 40;
  constexpr int kHeadWordsMax = 4;
  std::string out;
  int words = 0;
  bool in_space = true;
  for (char c : sql) {
    const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (space) {
      in_space = true;
      continue;
    }
    if (in_space) {
      if (++words > kHeadWordsMax) break;
      if (!out.empty()) out.push_back(' ');
      in_space = false;
    }
    if (out.size() >= kHeadCharsMax) {
      out += "...";
      break;
    }
    out.push_back(c);
  }
  return out;
}

PostgresSql translate_for_postgres(std::string_view sql) {
  const std::string keyword = first_keyword(sql);
  const bool ddl = keyword == "CREATE" || keyword == "ALTER";
  PostgresSql out;
  out.sql.reserve(sql.size() + 16);
  size_t i = 0;
  while (i < sql.size()) {
    const size_t skipped = skip_quoted(sql, i);
    if (skipped != i) {
      out.sql.append(sql.substr(i, skipped - i));
      i = skipped;
      continue;
    }
    const char c = sql[i];
    if (c == '?') {
      out.sql += "$" + std::to_string(++out.parameter_count);
      ++i;
      continue;
    }
    if (is_word_char(c)) {
      size_t j = i;
      while (j < sql.size() && is_word_char(sql[j])) ++j;
      std::string_view word = sql.substr(i, j - i);
      // A word ending just before a quote may be the E of E'...': leave it and let the quote be
      // lexed as a string next.
      if (ddl && word_is(word, "BLOB")) {
        out.sql += "BYTEA";
      } else if (ddl && word_is(word, "INTEGER")) {
        out.sql += "BIGINT";
      } else if (ddl && word_is(word, "REAL")) {
        out.sql += "DOUBLE PRECISION";
      } else {
        out.sql.append(word);
      }
      i = j;
      continue;
    }
    out.sql.push_back(c);
    ++i;
  }
  return out;
}

}  // namespace folio::storage
