#include "protocol/transport.h"

#include <fstream>
#include <sstream>

namespace deepreduce::protocol {

std::optional<std::vector<std::string>> recv_frames(zmq::socket_t& socket) {
  std::vector<std::string> frames;
  zmq::message_t msg;
  zmq::recv_result_t got;
  try {
    got = socket.recv(msg, zmq::recv_flags::dontwait);
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return std::nullopt;
    throw;
  }
  if (!got) return std::nullopt;
  frames.emplace_back(static_cast<const char*>(msg.data()), msg.size());
  // A multipart message arrives whole: the rest of its frames are already here.
  // Bound the count so a hostile peer cannot make us collect forever.
  size_t count = 1;
  while (msg.more()) {
    if (!socket.recv(msg, zmq::recv_flags::none)) break;
    if (++count <= 16) frames.emplace_back(static_cast<const char*>(msg.data()), msg.size());
  }
  return frames;
}

bool send_frames(zmq::socket_t& socket, const std::vector<std::string>& frames, const std::string* routing_id) {
  try {
    if (routing_id && !socket.send(zmq::buffer(*routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
      return false;
    for (size_t i = 0; i < frames.size(); ++i) {
      auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      if (!socket.send(zmq::buffer(frames[i]), flags | zmq::send_flags::dontwait)) return false;
    }
    return true;
  } catch (const zmq::error_t&) {
    return false;  // e.g. EHOSTUNREACH with ZMQ_ROUTER_MANDATORY: the worker is gone
  }
}

Result<KeyPair> generate_keypair() {
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0)
    return Status::unavailable("this libzmq was built without CURVE support (zmq_curve_keypair failed)");
  return KeyPair{pub, sec};
}

Result<std::string> read_key_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::not_found(path + ": cannot open key file");
  std::string word;
  while (in >> word) {
    if (word[0] == '#') {
      std::string rest;
      std::getline(in, rest);
      continue;
    }
    if (word.size() != 40) return Status::invalid_argument(path + ": expected a 40-character Z85 key, got \"" + word + "\"");
    return word;
  }
  return Status::invalid_argument(path + ": no key in the file");
}

Result<std::string> public_of(const std::string& secret_key) {
  char pub[41];
  if (secret_key.size() != 40 || zmq_curve_public(pub, secret_key.c_str()) != 0)
    return Status::invalid_argument("not a valid Z85 CURVE secret key");
  return std::string(pub);
}

}  // namespace deepreduce::protocol
