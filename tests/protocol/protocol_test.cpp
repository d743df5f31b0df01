#include "protocol/protocol.h"

#include <gtest/gtest.h>

#include <random>

namespace deepreduce::protocol {
namespace {

TEST(ProtocolTest, EncodeDecodeRoundTrips) {
  auto m = make(Type::kUpload, {{"trial", "abc"}, {"attempt", 2}, {"kind", "checkpoint"}, {"chunk", 0}, {"chunks", 1},
                                {"size", 3}},
                "xyz");
  auto frames = encode(m);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0], "UPLOAD");
  auto back = decode(frames);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->type, Type::kUpload);
  EXPECT_EQ(back->payload, "xyz");
  EXPECT_EQ(back->header["trial"], "abc");
  EXPECT_TRUE(from_worker(Type::kUpload));
  EXPECT_FALSE(from_worker(Type::kAssign));
}

TEST(ProtocolTest, DecodingIsStrict) {
  const std::string v = std::to_string(kVersion);
  struct Case {
    std::vector<std::string> frames;
    const char* says;
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
      {{"HEARTBEAT", "{\"v\":99}"}, "protocol version 99, this build speaks 2"},
      {{"READY", "{\"v\":" + v + "}"}, "field \"slots\" must be an integer"},
      {{"READY", "{\"v\":" + v + ",\"slots\":\"many\"}"}, "field \"slots\" must be an integer"},
      {{"READY", "{\"v\":" + v + ",\"slots\":-1}"}, "negative"},
      {{"HEARTBEAT", "{\"v\":" + v + "}", "payload"}, "carries no payload"},
      {{"HEARTBEAT", std::string(kMaxHeaderBytes + 1, ' ')}, "exceeds"},
      {{"UPLOAD",
        "{\"v\":" + v + ",\"trial\":\"t\",\"attempt\":1,\"kind\":\"model\",\"chunk\":0,\"chunks\":1,\"size\":1}",
        std::string(kMaxPayloadBytes + 1, 'x')},
       "exceeds"},
      {{"UPLOAD", "{\"v\":" + v + ",\"trial\":\"t\",\"attempt\":1,\"kind\":\"model\",\"chunk\":3,\"chunks\":2,\"size\":1}"},
       "chunk index out of range"},
      {{"UPLOAD",
        "{\"v\":" + v + ",\"trial\":\"t\",\"attempt\":1,\"kind\":\"model\",\"chunk\":0,\"chunks\":1,\"size\":" +
            std::to_string(kMaxArtifactBytes + 1) + "}"},
       "exceeds"},
  };
  for (const auto& c : cases) {
    auto r = decode(c.frames);
    ASSERT_FALSE(r.ok()) << c.says;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().message();
  }
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
