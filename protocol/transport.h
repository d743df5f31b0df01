// ZeroMQ plumbing shared by the coordinator and workers: multipart send and
// receive of protocol messages, and CURVE keys. Holds no state of its own.
#pragma once

#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/status.h"
#include "protocol/protocol.h"

namespace deepreduce::protocol {

// Receives every frame of one multipart message without blocking; nullopt if
// none is waiting.
std::optional<std::vector<std::string>> recv_frames(zmq::socket_t& socket);
// Sends frames as one multipart message (a routing id first for ROUTER sockets).
// Returns false when the message could not be queued (peer gone, HWM reached).
bool send_frames(zmq::socket_t& socket, const std::vector<std::string>& frames, const std::string* routing_id = nullptr);

// Checks an endpoint before ZeroMQ sees it ("Invalid argument" says nothing):
// tcp://HOST:PORT to connect; tcp://*:PORT, tcp://ADDRESS:PORT or tcp://*:*
// (any free port) to bind; ipc:// and inproc:// too.
Status check_endpoint(const std::string& endpoint, bool bind);

struct KeyPair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;
};
Result<KeyPair> generate_keypair();
// Reads a Z85 key (the first 40-character word) from a file written by keygen.
Result<std::string> read_key_file(const std::string& path);
// The public key of a secret key.
Result<std::string> public_of(const std::string& secret_key);

}  // namespace deepreduce::protocol
