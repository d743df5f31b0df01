#include "protocol/transport.h"

#include <cctype>
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

Status check_endpoint(const std::string& endpoint, bool bind) {
  const std::string form = bind ? "tcp://*:5555 (any interface), tcp://*:* (any free port) or tcp://ADDRESS:PORT"
                                : "tcp://HOST:PORT, e.g. tcp://node17:5555";
  auto bad = [&](const std::string& why) {
    return Status::invalid_argument("\"" + endpoint + "\": " + why + "; expected " + form);
  };
  if (endpoint.rfind("ipc://", 0) == 0 || endpoint.rfind("inproc://", 0) == 0)
    return endpoint.find("://") + 3 < endpoint.size() ? Status() : bad("no path");
  if (endpoint.rfind("tcp://", 0) != 0) return bad("not a tcp:// (or ipc://) address");
  const std::string rest = endpoint.substr(6);
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad("no HOST:PORT");
  const std::string host = rest.substr(0, colon), port = rest.substr(colon + 1);
  if (host == "*" && !bind) return bad("\"*\" is for binding; a worker needs the coordinator's host name");
  for (char c : host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == '*' || c == '[' ||
          c == ']' || c == ':' || c == ';'))
      return bad("the host has a '" + std::string(1, c) + "'");
  if (port == "*" || port == "0") return bind ? Status() : bad("a worker needs the coordinator's port");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) < 1 || std::stoi(port) > 65535)
    return bad("the port must be a number from 1 to 65535");
  return Status();
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
