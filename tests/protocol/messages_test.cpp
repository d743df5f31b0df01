// The typed messages against the protocol's field table: each struct writes
// exactly its type's fields, what it writes passes decode(), and read() gives
// back what was written.
#include "protocol/messages.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace deepreduce::protocol {
namespace {

const std::string kTrial(32, 'a'), kLease(32, 'b'), kDigest(64, 'c');

// Every field of the type's row, and nothing else ("v" is encode()'s).
template <class T>
void expect_table_fields(const T& v) {
  const nlohmann::json j = v;
  std::set<std::string> written;
  for (const auto& [key, value] : j.items()) written.insert(key);
  const auto names = field_names(T::kType);
  EXPECT_EQ(written, std::set<std::string>(names.begin(), names.end())) << type_name(T::kType);
}

// message(v) -> frames -> decode() -> read<T>() is v again.
template <class T>
T round_trip(const T& v, std::string payload = {}) {
  auto decoded = decode(encode(message(v, payload)));
  EXPECT_TRUE(decoded.ok()) << type_name(T::kType) << ": " << decoded.status().message();
  if (!decoded.ok()) return T{};
  EXPECT_EQ(decoded->type, T::kType);
  EXPECT_EQ(decoded->payload, payload);
  return read<T>(*decoded);
}

TEST(MessagesTest, EveryStructIsItsRowOfTheFieldTable) {
  expect_table_fields(Hello{"w1", "node-3", 42, {"cuda:0"}, 8, 2, {{kTrial, 3, kLease}}});
  expect_table_fields(Ready{2});
  expect_table_fields(Heartbeat{});
  expect_table_fields(Progress{kTrial, 1, kLease, {{"epoch", 1}}});
  expect_table_fields(Upload{kTrial, 1, kLease, ArtifactKind::kModel, 0, 1, 10});
  expect_table_fields(ResultMessage{kTrial, 1, kLease, {{"top1", 71.9}}, {10, kDigest}, ArtifactDigest{5, kDigest}});
  expect_table_fields(Failed{kTrial, 1, kLease, "out of memory", true, false});
  expect_table_fields(Fetch{kTrial, ArtifactKind::kCheckpoint});
  expect_table_fields(Bye{});
  expect_table_fields(Welcome{1000});
  expect_table_fields(Assign{kTrial, 2, kLease, {{"kind", "noop"}}, true});
  expect_table_fields(Artifact{kTrial, ArtifactKind::kModel, 0, 1, 3, true});
  expect_table_fields(Cancel{kTrial});
  expect_table_fields(Receipt{kTrial, 1, "stored", ""});
  expect_table_fields(Shutdown{"experiment complete", true, true});
}

TEST(MessagesTest, WhatIsWrittenDecodesAndReadsBack) {
  const Hello h = round_trip(Hello{"w1", "node-3", 42, {"cuda:0", "cuda:1"}, 8, 2, {{kTrial, 3, kLease}}});
  EXPECT_EQ(h.worker, "w1");
  EXPECT_EQ(h.devices, nlohmann::json({"cuda:0", "cuda:1"}));
  ASSERT_EQ(h.running.size(), 1u);
  EXPECT_EQ(h.running[0].attempt, 3);
  EXPECT_EQ(h.running[0].lease, kLease);
  EXPECT_EQ(round_trip(Ready{5}).slots, 5);
  round_trip(Heartbeat{});
  EXPECT_EQ(round_trip(Progress{kTrial, 1, kLease, {{"epoch", 4}, {"top1", 55.5}}}).epoch["top1"], 55.5);
  const Upload u = round_trip(Upload{kTrial, 2, kLease, ArtifactKind::kCheckpoint, 0, 1, 3}, "abc");
  EXPECT_EQ(u.kind, ArtifactKind::kCheckpoint);
  EXPECT_EQ(u.attempt, 2);
  EXPECT_EQ(u.size, 3);
  const ResultMessage r = round_trip(ResultMessage{kTrial, 1, kLease, {{"top1", 71.9}}, {10, kDigest}, std::nullopt});
  EXPECT_EQ(r.model.size, 10);
  EXPECT_FALSE(r.mask.has_value());
  const ResultMessage rm = round_trip(ResultMessage{kTrial, 1, kLease, {{"top1", 1.0}}, {10, kDigest}, ArtifactDigest{7, kDigest}});
  ASSERT_TRUE(rm.mask.has_value());
  EXPECT_EQ(rm.mask->size, 7);
  const Failed f = round_trip(Failed{kTrial, 1, kLease, "CUDA out of memory", true, true});
  EXPECT_TRUE(f.retryable);
  EXPECT_TRUE(f.environment);
  EXPECT_EQ(round_trip(Fetch{kTrial, ArtifactKind::kMask}).kind, ArtifactKind::kMask);
  round_trip(Bye{});
  EXPECT_EQ(round_trip(Welcome{250}).heartbeat_ms, 250);
  const Assign a = round_trip(Assign{kTrial, 2, kLease, {{"kind", "noop"}}, true});
  EXPECT_EQ(a.spec["kind"], "noop");
  EXPECT_TRUE(a.checkpoint);
  const Artifact art = round_trip(Artifact{kTrial, ArtifactKind::kModel, 0, 1, 3, false}, "xyz");
  EXPECT_FALSE(art.found);
  EXPECT_EQ(round_trip(Cancel{kTrial}).trial, kTrial);
  const Receipt rc = round_trip(Receipt{kTrial, 4, "resend", "model not received"});
  EXPECT_EQ(rc.status, "resend");
  EXPECT_EQ(rc.attempt, 4);
  const Shutdown plain = round_trip(Shutdown{"coordinator stopping", std::nullopt, std::nullopt});
  EXPECT_FALSE(plain.rejoin.has_value());
  EXPECT_FALSE(plain.done.has_value());
  const Shutdown rejoin = round_trip(Shutdown{"unknown worker; send HELLO", true, std::nullopt});
  EXPECT_EQ(rejoin.rejoin, std::optional<bool>(true));
}

TEST(MessagesTest, AStructThatBreaksTheTableIsRefusedByDecode) {
  // The table, not the struct, decides: a value out of its range is refused.
  auto decoded = decode(encode(message(Ready{kMaxSlots + 1})));
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("slots"), std::string::npos) << decoded.status().message();
  decoded = decode(encode(message(Receipt{kTrial, 1, "maybe", ""})));
  EXPECT_FALSE(decoded.ok());
  // read() of a message of another type is a default value, never a throw.
  EXPECT_EQ(read<Ready>(message(Cancel{kTrial})).slots, 0);
}

}  // namespace
}  // namespace deepreduce::protocol
