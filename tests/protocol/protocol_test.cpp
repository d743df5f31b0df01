#include "protocol/protocol.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace deepreduce::protocol {
namespace {

const std::string kTrial(32, 'a');
const std::string kLease = "0123456789abcdef0123456789abcdef";

TEST(ProtocolTest, EncodeDecodeRoundTrips) {
  auto m = make(Type::kUpload, {{"trial", kTrial}, {"attempt", 2}, {"lease", kLease}, {"kind", "checkpoint"},
                                {"chunk", 0}, {"chunks", 1}, {"size", 3}},
                "xyz");
  auto frames = encode(m);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0], "UPLOAD");
  auto back = decode(frames);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->type, Type::kUpload);
  EXPECT_EQ(back->payload, "xyz");
  EXPECT_EQ(back->header["trial"], kTrial);
  EXPECT_TRUE(from_worker(Type::kUpload));
  EXPECT_FALSE(from_worker(Type::kAssign));
  EXPECT_FALSE(from_worker(Type::kReceipt));
}

TEST(ProtocolTest, DecodingIsStrict) {
  const std::string v = "\"v\":" + std::to_string(kVersion);
  const std::string lease = ",\"trial\":\"" + kTrial + "\",\"attempt\":1,\"lease\":\"" + kLease + "\"";
  const std::string upload = "{" + v + lease + ",\"kind\":\"model\",";
  const std::string hello = "{" + v + ",\"worker\":\"w\",\"host\":\"h\",\"pid\":1,\"devices\":[\"cpu\"],\"threads\":1,\"slots\":1,";
  struct Case {
    std::vector<std::string> frames;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{}, "expected 2 or 3 frames"},
      {{"HELLO"}, "expected 2 or 3 frames"},
      {{"HELLO", "{}", "x", "y"}, "expected 2 or 3 frames"},
      {{"GOODBYE", "{}"}, "unknown message type \"GOODBYE\""},
      {{std::string("\x01\xff", 2), "{}"}, "unknown message type \"??\""},
      {{"HEARTBEAT", "{\"v\":"}, "header is not a JSON object"},
      {{"HEARTBEAT", "[1,2]"}, "header is not a JSON object"},
      {{"HEARTBEAT", "{}"}, "no protocol version"},
      {{"HEARTBEAT", "{\"v\":99}"}, "protocol version 99, this build speaks " + std::to_string(kVersion)},
      {{"HEARTBEAT", "{\"v\":3}"}, "protocol version 3, this build speaks " + std::to_string(kVersion)},
      {{"READY", "{" + v + "}"}, "field \"slots\" is missing"},
      {{"READY", "{" + v + ",\"slots\":\"many\"}"}, "field \"slots\" must be an integer"},
      {{"READY", "{" + v + ",\"slots\":-1}"}, "negative"},
      {{"READY", "{" + v + ",\"slots\":100000}"}, "must be in [0, 64]"},
      {{"READY", "{" + v + ",\"slots\":18446744073709551615}"}, "out of range"},
      {{"READY", "{" + v + ",\"slots\":1,\"extra\":1}"}, "unknown field \"extra\""},
      {{"HEARTBEAT", "{" + v + "}", "payload"}, "carries no payload"},
      {{"HEARTBEAT", std::string(kMaxHeaderBytes + 1, ' ')}, "exceeds"},
      // The nesting bomb that overflowed the parser's stack: refused before parsing.
      {{"HELLO", hello + "\"running\":[]," + "\"x\":" + std::string(100000, '[') + std::string(100000, ']') + "}"},
       "nests deeper than 32"},
      {{"HELLO", hello + "\"running\":[{\"trial\":\"t\",\"attempt\":1,\"lease\":\"" + kLease + "\"}]}"},
       "field \"running\": field \"trial\" must be 32 lowercase hex digits"},
      {{"HELLO", hello + "\"running\":[1]}"}, "must hold objects"},
      {{"HELLO", "{" + v + ",\"worker\":\"w\\u001b[2J\",\"host\":\"h\",\"pid\":1,\"devices\":[],\"threads\":1,"
                     "\"slots\":1,\"running\":[]}"},
       "field \"worker\" must be printable ASCII"},
      {{"PROGRESS", "{" + v + lease + ",\"epoch\":{\"x\":\"" + std::string(70000, 'x') + "\"}}"}, "larger than 64 KiB"},
      {{"PROGRESS", "{" + v + ",\"trial\":\"../../x\",\"attempt\":1,\"lease\":\"" + kLease + "\",\"epoch\":{}}"},
       "field \"trial\" must be 32 lowercase hex digits"},
      {{"PROGRESS", "{" + v + ",\"trial\":\"" + kTrial + "\",\"attempt\":1,\"epoch\":{}}"}, "field \"lease\" is missing"},
      {{"PROGRESS", "{" + v + lease + ",\"attempt\":0,\"epoch\":{}}"}, "must be in [1,"},
      {{"RESULT", "{" + v + lease + ",\"result\":{\"top1\":99.9}}"}, "field \"model\" is missing"},
      {{"RESULT", "{" + v + lease + ",\"result\":{\"top1\":250},\"model\":{\"size\":0,\"blake2b\":\"" +
                      std::string(64, '0') + "\"}}"},
       "top1, a number in [0, 100]"},
      {{"RESULT", "{" + v + lease + ",\"result\":{\"top1\":50},\"model\":{\"size\":0,\"blake2b\":\"zz\"}}"},
       "field \"model\": field \"blake2b\" must be 64 lowercase hex digits"},
      {{"FAILED", "{" + v + lease + ",\"reason\":\"" + std::string(kMaxReasonBytes + 1, 'x') +
                      "\",\"retryable\":true,\"environment\":false}"},
       "field \"reason\" must be a string of 0 to 4096 bytes"},
      {{"UPLOAD", upload + "\"chunk\":0,\"chunks\":1,\"size\":1}", std::string(kMaxPayloadBytes + 1, 'x')}, "exceeds"},
      {{"UPLOAD", upload + "\"chunk\":3,\"chunks\":2,\"size\":1}"}, "chunk index out of range"},
      {{"UPLOAD", upload + "\"chunk\":0,\"chunks\":5,\"size\":1}"}, "5 chunks for 1 bytes"},
      {{"UPLOAD", upload + "\"chunk\":0,\"chunks\":1,\"size\":" + std::to_string(kMaxArtifactBytes + 1) + "}"},
       "must be in [0,"},
      {{"UPLOAD", "{" + v + lease + ",\"kind\":\"passwd\",\"chunk\":0,\"chunks\":1,\"size\":1}"},
       "field \"kind\" must be one of model | checkpoint"},
  };
  for (const auto& c : cases) {
    auto r = decode(c.frames);
    ASSERT_FALSE(r.ok()) << c.says;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().message();
  }
}

TEST(ProtocolTest, EveryTypeRoundTripsAWellFormedMessage) {
  const nlohmann::json lease = {{"trial", kTrial}, {"attempt", 1}, {"lease", kLease}};
  auto with = [&](nlohmann::json extra) {
    nlohmann::json h = lease;
    h.update(extra);
    return h;
  };
  const std::map<Type, Message> examples = {
      {Type::kHello, make(Type::kHello, {{"worker", "w"}, {"host", "h"}, {"pid", 1}, {"devices", {"cpu"}}, {"threads", 1},
                                         {"slots", 2}, {"running", {lease}}})},
      {Type::kReady, make(Type::kReady, {{"slots", 1}})},
      {Type::kHeartbeat, make(Type::kHeartbeat)},
      {Type::kProgress, make(Type::kProgress, with({{"epoch", {{"epoch", 1}}}}))},
      {Type::kUpload, make(Type::kUpload, with({{"kind", "model"}, {"chunk", 0}, {"chunks", 1}, {"size", 2}}), "ab")},
      {Type::kResult, make(Type::kResult, with({{"result", {{"top1", 50.5}}},
                                                {"model", {{"size", 2}, {"blake2b", digest("ab")}}}}))},
      {Type::kFailed, make(Type::kFailed, with({{"reason", "x"}, {"retryable", true}, {"environment", false}}))},
      {Type::kFetch, make(Type::kFetch, {{"trial", kTrial}, {"kind", "model"}})},
      {Type::kBye, make(Type::kBye)},
      {Type::kWelcome, make(Type::kWelcome, {{"heartbeat_ms", 1000}})},
      {Type::kAssign, make(Type::kAssign, with({{"spec", nlohmann::json::object()}, {"checkpoint", false}}))},
      {Type::kArtifact, make(Type::kArtifact, {{"trial", kTrial}, {"kind", "checkpoint"}, {"chunk", 0}, {"chunks", 1},
                                               {"size", 0}, {"found", false}})},
      {Type::kCancel, make(Type::kCancel, {{"trial", kTrial}})},
      {Type::kReceipt, make(Type::kReceipt, {{"trial", kTrial}, {"attempt", 1}, {"status", "stored"}, {"reason", ""}})},
      {Type::kShutdown, make(Type::kShutdown, {{"reason", "done"}, {"rejoin", true}})},
  };
  ASSERT_EQ(examples.size(), all_types().size());
  for (Type t : all_types()) {
    const Message& m = examples.at(t);
    auto back = decode(encode(m));
    ASSERT_TRUE(back.ok()) << type_name(t) << ": " << back.status().message();
    EXPECT_EQ(back->header, m.header) << type_name(t);
  }
  EXPECT_EQ(digest("ab").size(), 64u);
  EXPECT_TRUE(is_hex_id(random_token()));
  EXPECT_NE(random_token(), random_token());
}

TEST(ProtocolTest, NestingIsBoundedWithoutRecursion) {
  EXPECT_TRUE(json_depth_within("{\"a\":[[1]]}", 3));
  EXPECT_FALSE(json_depth_within("{\"a\":[[1]]}", 2));
  EXPECT_TRUE(json_depth_within("{\"a\":\"[[[[[[\\\"[[[\"}", 1));  // brackets inside strings do not count
  EXPECT_FALSE(json_depth_within(std::string(10000000, '['), kMaxJsonDepth));
}

TEST(ProtocolTest, RandomFramesNeverCrashTheDecoder) {
  std::mt19937 rng(7);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::string> frames(rng() % 5);
    for (auto& f : frames) {
      f.resize(rng() % 64);
      for (auto& c : f) c = static_cast<char>(rng());
      if (rng() % 4 == 0) f = "HEARTBEAT";
      if (rng() % 4 == 0) f = "{\"v\":" + std::to_string(kVersion) + "}";
      if (rng() % 8 == 0) f = std::string(rng() % 100000, '[');
    }
    accepted += decode(frames).ok();
  }
  EXPECT_GT(accepted, 0);  // some random messages were well formed heartbeats
}

TEST(ProtocolTest, ChunksCoverTheBytes) {
  EXPECT_EQ(chunk("").size(), 1u);
  std::string big(kChunkBytes * 2 + 5, 'a');
  auto parts = chunk(big);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[2].size(), 5u);
}

}  // namespace
}  // namespace deepreduce::protocol
