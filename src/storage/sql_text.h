// Small lexical helpers over SQL text in the dialect subset of database.h: the words that name a
// statement in error messages, its leading keyword, and the translation of a statement written for
// SQLite into PostgreSQL's spelling (`?` placeholders to $1..$n, DDL column types).
//
// The lexer knows single-quoted strings ('' escapes a quote; E'...' takes backslash escapes),
// double-quoted identifiers, dollar-quoted strings ($tag$...$tag$), `--` line comments and
// `/* */` comments; nothing inside them is rewritten. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace folio::storage {

// The statement's first few words (at most about 40 characters), for error contexts, so that an
// error says which statement failed without echoing values or long SQL.
std::string sql_head(std::string_view sql);

// The first keyword, upper-cased, after leading whitespace and comments ("" if none).
std::string first_keyword(std::string_view sql);

struct PostgresSql {
  std::string sql;
  size_t parameter_count = 0;  // how many `?` were rewritten
};

// `?` outside quotes and comments becomes $1, $2, ... in order. In DDL (a statement starting with
// CREATE or ALTER) the column type words BLOB, INTEGER and REAL, outside quotes, become BYTEA,
// BIGINT and DOUBLE PRECISION, so that one schema text serves both backends.
PostgresSql translate_for_postgres(std::string_view sql);

}  // namespace folio::storage
