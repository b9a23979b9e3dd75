#include "vault/query.h"

#include <gtest/gtest.h>

#include "vault/cash.h"

namespace folio::vault {
namespace {

TEST(Like, PercentUnderscoreAndEscapes) {
  EXPECT_TRUE(like_matches("GBP", "GBP"));
  EXPECT_TRUE(like_matches("GBP", "G%"));
  EXPECT_TRUE(like_matches("GBP", "%P"));
  EXPECT_TRUE(like_matches("GBP", "%"));
  EXPECT_TRUE(like_matches("", "%"));
  EXPECT_TRUE(like_matches("GBP", "G_P"));
  EXPECT_FALSE(like_matches("GBP", "g%"));  // case-sensitive
  EXPECT_FALSE(like_matches("GBP", "G_"));
  EXPECT_TRUE(like_matches("a%b", "a\\%b"));
  EXPECT_FALSE(like_matches("axb", "a\\%b"));
  EXPECT_TRUE(like_matches("O=Bank,L=London", "%=Bank,%"));
  EXPECT_TRUE(like_matches("\xc3\xa9t\xc3\xa9", "_t_"));  // _ is one character, not one byte
  EXPECT_TRUE(like_matches("aaab", "%a%b"));
  EXPECT_FALSE(like_matches("aaac", "%a%b"));
}

class QuerySqlTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(register_cash(registry).ok()); }
  VaultRegistry registry;
};

TEST_F(QuerySqlTest, ValuesAreParametersNeverText) {
  Query query;
  query.criteria = QueryCriteria::unconsumed() &&
                   (QueryCriteria::column_matches("cash", "currency", ColumnOp::kEqual,
                                                  std::string("GBP'; DROP TABLE vault_states; --")) ||
                    QueryCriteria::notary_is("O=Evil'--"));
  Result<SqlQuery> sql = build_select(query, registry);
  ASSERT_TRUE(sql.ok()) << sql.error().message();
  EXPECT_EQ(sql->sql.find("DROP"), std::string::npos);
  EXPECT_EQ(sql->sql.find("Evil"), std::string::npos);
  EXPECT_NE(sql->sql.find("LEFT JOIN cash_states"), std::string::npos);
  // status, currency, notary, limit, offset
  EXPECT_EQ(sql->params.size(), 5u);
}

TEST_F(QuerySqlTest, UnknownSchemaOrColumnOrWrongTypeIsRefused) {
  for (const QueryCriteria& bad : {
           QueryCriteria::column_matches("nope", "currency", ColumnOp::kEqual, std::string("x")),
           QueryCriteria::column_matches("cash", "currency; DROP", ColumnOp::kEqual,
                                         std::string("x")),
           QueryCriteria::column_matches("cash", "quantity", ColumnOp::kEqual, std::string("1")),
           QueryCriteria::column_matches("cash", "quantity", ColumnOp::kLike, int64_t{1}),
           QueryCriteria::column_matches("cash", "currency", ColumnOp::kEqual, std::monostate()),
           QueryCriteria::column_in("cash", "currency", {std::string("GBP"), int64_t{2}}),
       }) {
    Result<SqlQuery> sql = build_count(bad, registry);
    ASSERT_FALSE(sql.ok());
    EXPECT_EQ(sql.error().code, ErrorCode::kInvalidArgument) << sql.error().message();
  }
  Query query;
  query.sort = {Sort{CustomColumn{"cash", "owner_key DESC; --"}, false}};
  EXPECT_FALSE(build_select(query, registry).ok());
}

TEST_F(QuerySqlTest, PagesAreBounded) {
  Query query;
  query.page = {0, 10};
  EXPECT_FALSE(build_select(query, registry).ok());
  query.page = {1, 0};
  EXPECT_FALSE(build_select(query, registry).ok());
  query.page = {1, kPageSizeMax + 1};
  EXPECT_FALSE(build_select(query, registry).ok());
  query.page = {std::numeric_limits<int64_t>::max(), 10};
  EXPECT_FALSE(build_select(query, registry).ok());
  query.page = {3, 10};
  Result<SqlQuery> sql = build_select(query, registry);
  ASSERT_TRUE(sql.ok());
  EXPECT_EQ(std::get<int64_t>(sql->params.back()), 20);
}

TEST_F(QuerySqlTest, NestingIsBounded) {
  QueryCriteria deep = QueryCriteria::all();
  for (size_t i = 0; i < kCriteriaDepthMax + 2; ++i) deep = deep && QueryCriteria::all();
  Result<SqlQuery> sql = build_count(deep, registry);
  ASSERT_FALSE(sql.ok());
  EXPECT_EQ(sql.error().code, ErrorCode::kLimitExceeded);
}

TEST(VaultRegistry, RefusesBadSchemas) {
  VaultRegistry registry;
  ASSERT_TRUE(register_cash(registry).ok());
  EXPECT_FALSE(register_cash(registry).ok());  // twice
  VaultSchema schema = cash_schema();
  schema.name = "other";  // same table
  EXPECT_FALSE(registry.add_schema(schema).ok());
  schema.table = "other_states";
  schema.columns.push_back({"Bad Name", ColumnType::kText, false});
  EXPECT_FALSE(registry.add_schema(schema).ok());
  schema.columns.back().name = "select";
  EXPECT_FALSE(registry.add_schema(schema).ok());
  schema.columns.back().name = "currency";  // twice
  EXPECT_FALSE(registry.add_schema(schema).ok());
  schema.columns.pop_back();
  schema.version = 2;  // without its upgrade
  EXPECT_FALSE(registry.add_schema(schema).ok());
  schema.version = 1;
  schema.table = "vault_states";
  EXPECT_FALSE(registry.add_schema(schema).ok());
  schema.table = "other_states";
  EXPECT_TRUE(registry.add_schema(schema).ok());
}

}  // namespace
}  // namespace folio::vault
