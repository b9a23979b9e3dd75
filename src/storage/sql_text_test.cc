#include "storage/sql_text.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace folio::storage {
namespace {

TEST(TranslateForPostgres, NumbersPlaceholdersInOrder) {
  PostgresSql out = translate_for_postgres("SELECT a FROM t WHERE b = ? AND c IN (?, ?)");
  EXPECT_EQ(out.sql, "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)");
  EXPECT_EQ(out.parameter_count, 3u);
}

TEST(TranslateForPostgres, LeavesQuestionMarksInStringsAndCommentsAlone) {
  PostgresSql out = translate_for_postgres(
      "SELECT '?', 'it''s ?', \"odd?name\", E'\\'?' -- why?\n, ? /* what? */ , $$?$$, $x$?$x$, ?");
  EXPECT_EQ(out.sql,
            "SELECT '?', 'it''s ?', \"odd?name\", E'\\'?' -- why?\n, $1 /* what? */ , $$?$$, "
            "$x$?$x$, $2");
  EXPECT_EQ(out.parameter_count, 2u);
}

TEST(TranslateForPostgres, UnterminatedStringKeepsTheRest) {
  PostgresSql out = translate_for_postgres("SELECT ?, 'abc ?");
  EXPECT_EQ(out.sql, "SELECT $1, 'abc ?");
  EXPECT_EQ(out.parameter_count, 1u);
}

TEST(TranslateForPostgres, MapsColumnTypesInDdlOnly) {
  EXPECT_EQ(translate_for_postgres(
                "CREATE TABLE t (a INTEGER PRIMARY KEY, b blob, c Real, d TEXT, integer_count "
                "INTEGER, e TEXT DEFAULT 'INTEGER')")
                .sql,
            "CREATE TABLE t (a BIGINT PRIMARY KEY, b BYTEA, c DOUBLE PRECISION, d TEXT, "
            "integer_count BIGINT, e TEXT DEFAULT 'INTEGER')");
  EXPECT_EQ(translate_for_postgres("  -- note\nalter TABLE t ADD COLUMN x BLOB").sql,
            "  -- note\nalter TABLE t ADD COLUMN x BYTEA");
  EXPECT_EQ(translate_for_postgres("SELECT CAST(a AS INTEGER) FROM t").sql,
            "SELECT CAST(a AS INTEGER) FROM t");
}

TEST(SqlText, FirstKeywordSkipsCommentsAndSpace) {
  EXPECT_EQ(first_keyword("  /* x */ -- y\n select 1"), "SELECT");
  EXPECT_EQ(first_keyword(""), "");
  EXPECT_EQ(first_keyword("   "), "");
}

TEST(SqlText, HeadIsShortAndHasNoValuesPastTheFirstWords) {
  EXPECT_EQ(sql_head("INSERT   INTO\nvault_states (a, b) VALUES (?, ?)"),
            "INSERT INTO vault_states (a,");
  EXPECT_LE(sql_head(std::string(200, 'x')).size(), 43u);
}

}  // namespace
}  // namespace folio::storage

namespace folio::storage {
namespace {

// Random texts over the characters the lexer cares about: turning each $k of the translation back
// into ? gives the input again, and outside any quote or comment every ? is a parameter.
TEST(TranslateForPostgres, RandomTextsRoundTrip) {
  static constexpr char kAlphabet[] = {'?', '\'', '"', '-', '/', '*', 'E', 'a', ' ', '\n', '\\', '1'};
  std::mt19937_64 random(7);
  for (int round = 0; round < 5000; ++round) {
    std::string text;
    const size_t length = random() % 24;
    for (size_t i = 0; i < length; ++i) text.push_back(kAlphabet[random() % sizeof(kAlphabet)]);
    const PostgresSql out = translate_for_postgres(text);
    std::string back;
    size_t next = 1;
    for (size_t i = 0; i < out.sql.size();) {
      if (out.sql[i] != '$') {
        back.push_back(out.sql[i++]);
        continue;
      }
      const std::string number = std::to_string(next++);
      ASSERT_EQ(out.sql.compare(i + 1, number.size(), number), 0) << text;
      back.push_back('?');
      i += 1 + number.size();
    }
    EXPECT_EQ(back, text);
    EXPECT_EQ(out.parameter_count, next - 1);
    const size_t marks = static_cast<size_t>(std::count(text.begin(), text.end(), '?'));
    EXPECT_LE(out.parameter_count, marks);
    if (text.find_first_of("'\"-/") == std::string::npos) {
      EXPECT_EQ(out.parameter_count, marks);
    }
  }
}

}  // namespace
}  // namespace folio::storage
