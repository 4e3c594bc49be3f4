#include "protocol/webhook_batch.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace hutong::protocol {
namespace {

TEST(WebhookBatch, BodyHoldsTheEventsAsStored) {
  const std::string a = R"({"id":"evt_1","type":"x","data":{}})", b = R"({"id":"evt_2","type":"y"})";
  const std::string body = WebhookBatchBody({&a, &b});
  EXPECT_EQ(body, "{\"events\":[" + a + "," + b + "]}");
  const auto v = boost::json::parse(body);
  ASSERT_EQ(v.at("events").as_array().size(), 2u);
  EXPECT_EQ(v.at("events").as_array()[1].at("id").as_string(), "evt_2");
  EXPECT_EQ(WebhookBatchBody({}), "{\"events\":[]}");
}

TEST(WebhookBatch, LimitHeader) {
  EXPECT_EQ(ParseWebhookBatchLimit("64"), 64);
  EXPECT_EQ(ParseWebhookBatchLimit(" 2 "), 2);
  EXPECT_EQ(ParseWebhookBatchLimit("100000"), kWebhookBatchLimit);
  EXPECT_EQ(ParseWebhookBatchLimit("1"), 0);
  EXPECT_EQ(ParseWebhookBatchLimit("0"), 0);
  EXPECT_EQ(ParseWebhookBatchLimit("-5"), 0);
  EXPECT_EQ(ParseWebhookBatchLimit(""), 0);
  EXPECT_EQ(ParseWebhookBatchLimit("64x"), 0);
  EXPECT_EQ(ParseWebhookBatchLimit("99999999999999999999"), 0);
}

}  // namespace
}  // namespace hutong::protocol
