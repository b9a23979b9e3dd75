#include "identity/doorman.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "identity/http_service.h"

namespace folio::identity {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr size_t kStateFileBytesMax = 4096;
constexpr size_t kReasonBytesMax = 256;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

Result<KeyPair> read_private_key(const std::string& path) {
  FOLIO_ASSIGN_OR_RETURN(std::string pem, read_text_file(path, kPemBytesMax));
  auto key = KeyPair::from_private_pem(pem);
  std::fill(pem.begin(), pem.end(), '\0');
  if (!key.ok()) return make_error(key.error().code, path + ": " + key.error().context);
  return key;
}

Result<Certificate> read_certificate(const std::string& path) {
  FOLIO_ASSIGN_OR_RETURN(std::string pem, read_text_file(path, kPemBytesMax));
  auto cert = Certificate::from_pem(pem);
  if (!cert.ok()) return make_error(cert.error().code, path + ": " + cert.error().context);
  return cert;
}

bool same_key(const KeyPair& a, EVP_PKEY* b) { return EVP_PKEY_eq(a.evp(), b) == 1; }

// Creates `path` with `text` only if it does not exist yet: the name reservation, which must not
// be overwritten by a concurrent approval in another process.
Result<bool> create_exclusive(const std::string& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return make_error(ErrorCode::kIo, path + ": " + ec.message());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    return make_error(ErrorCode::kIo, path + ": " + std::strerror(errno));
  }
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok) return make_error(ErrorCode::kIo, path + ": write failed");
  return true;
}

std::string name_file(const std::string& dir, const X500Name& name) {
  return (fs::path(dir) / "names" / crypto::sha256(as_bytes(name.str())).hex()).string();
}

std::string request_dir(const std::string& dir, const std::string& id) {
  return (fs::path(dir) / "requests" / id).string();
}

json status_json(const RequestStatus& status) {
  json j = {{"status", std::string(to_string(status.state))}};
  if (status.state == RequestState::kApproved) j["chain"] = status.chain_pem;
  if (status.state == RequestState::kRejected) j["reason"] = status.reason;
  return j;
}

}  // namespace

std::string_view to_string(RequestState state) {
  switch (state) {
    case RequestState::kPending:
      return "pending";
    case RequestState::kApproved:
      return "approved";
    case RequestState::kRejected:
      return "rejected";
  }
  return "unknown";
}

bool is_request_id(std::string_view id) {
  if (id.size() != 32) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// ---- DoormanStore ---------------------------------------------------------------------------

Result<std::unique_ptr<DoormanStore>> DoormanStore::open(
    const std::string& dir, const std::optional<std::string>& root_dir) {
  std::unique_ptr<DoormanStore> store(new DoormanStore());
  store->dir_ = dir;
  fs::path d(dir);
  std::error_code ec;
  fs::create_directories(d / "requests", ec);
  if (ec) return make_error(ErrorCode::kIo, dir + ": " + ec.message());

  std::string doorman_pem = (d / "doorman-ca.pem").string();
  std::string doorman_key = (d / "doorman-ca-key.pem").string();
  std::string root_pem = (d / "root.pem").string();
  if (fs::exists(doorman_pem, ec)) {
    FOLIO_ASSIGN_OR_RETURN(store->root_, read_certificate(root_pem));
    FOLIO_ASSIGN_OR_RETURN(store->doorman_ca_, read_certificate(doorman_pem));
    FOLIO_ASSIGN_OR_RETURN(store->doorman_key_, read_private_key(doorman_key));
  } else {
    // First run: a root (given or new), then the doorman CA under it.
    fs::path root_source = root_dir.has_value() ? fs::path(*root_dir) : d;
    KeyPair root_key;
    if (fs::exists(root_source / "root.pem", ec)) {
      FOLIO_ASSIGN_OR_RETURN(store->root_, read_certificate((root_source / "root.pem").string()));
      FOLIO_ASSIGN_OR_RETURN(root_key, read_private_key((root_source / "root-key.pem").string()));
    } else if (root_dir.has_value()) {
      return make_error(ErrorCode::kNotFound, *root_dir + ": no root.pem");
    } else {
      FOLIO_ASSIGN_OR_RETURN(X500Name root_name,
                             X500Name::parse("CN=Folio Root CA, O=Folio Network, L=London, C=GB"));
      FOLIO_ASSIGN_OR_RETURN(root_key, KeyPair::generate(KeyType::kEd25519));
      FOLIO_ASSIGN_OR_RETURN(
          store->root_, issue_certificate(CertRole::kRootCa, root_name, root_key, std::nullopt,
                                          root_key, Validity::days_from_now(kRootValidityDays)));
    }
    if (!same_key(root_key, X509_get0_pubkey(store->root_.x509())))
      return make_error(ErrorCode::kVerification, "root key does not match root.pem");
    FOLIO_ASSIGN_OR_RETURN(X500Name doorman_name,
                           X500Name::parse("CN=Folio Doorman CA, O=Folio Network, L=London, C=GB"));
    FOLIO_ASSIGN_OR_RETURN(store->doorman_key_, KeyPair::generate(KeyType::kEd25519));
    FOLIO_ASSIGN_OR_RETURN(
        store->doorman_ca_,
        issue_certificate(CertRole::kDoormanCa, doorman_name, store->doorman_key_, store->root_,
                          root_key, Validity::days_from_now(kDoormanValidityDays)));
    FOLIO_TRY(write_text_file(root_pem, store->root_.pem()));
    if (!fs::exists(d / "root-key.pem", ec))
      FOLIO_TRY(root_key.write_private_key_pem((d / "root-key.pem").string()));
    FOLIO_TRY(store->doorman_key_.write_private_key_pem(doorman_key));
    // The certificate last: its presence marks a complete initialisation.
    FOLIO_TRY(write_text_file(doorman_pem, store->doorman_ca_.pem()));
  }
  FOLIO_TRY(verify_chain({store->doorman_ca_}, store->root_));
  if (!same_key(store->doorman_key_, X509_get0_pubkey(store->doorman_ca_.x509())))
    return make_error(ErrorCode::kVerification, "doorman key does not match doorman-ca.pem");
  return store;
}

Status DoormanStore::check_name_free(const X500Name& name, const KeyPair& key) const {
  std::string path = name_file(dir_, name);
  std::error_code ec;
  if (!fs::exists(path, ec)) return ok_status();
  FOLIO_ASSIGN_OR_RETURN(std::string holder_pem, read_text_file(path, kPemBytesMax));
  FOLIO_ASSIGN_OR_RETURN(KeyPair holder, KeyPair::from_public_pem(holder_pem));
  if (!same_key(holder, key.evp()))
    return make_error(ErrorCode::kConflict, name.str() + " is already issued to another key");
  return ok_status();
}

Result<std::string> DoormanStore::submit(std::string_view csr_pem) {
  FOLIO_ASSIGN_OR_RETURN(VerifiedCsr csr, verify_csr(csr_pem));
  if (csr.public_key.type() != KeyType::kEd25519)
    return make_error(ErrorCode::kInvalidArgument, "a node CA key must be Ed25519");
  std::string id = crypto::sha256(csr.der).hex().substr(0, 32);
  std::lock_guard<std::mutex> lock(mutex_);
  std::string rdir = request_dir(dir_, id);
  std::error_code ec;
  if (fs::exists(fs::path(rdir) / "state", ec)) return id;
  FOLIO_TRY(check_name_free(csr.subject, csr.public_key));
  FOLIO_TRY(write_text_file((fs::path(rdir) / "csr.pem").string(), csr_pem));
  FOLIO_TRY(write_text_file((fs::path(rdir) / "state").string(), "pending"));
  return id;
}

Result<RequestStatus> DoormanStore::status_locked(const std::string& id) const {
  if (!is_request_id(id)) return make_error(ErrorCode::kInvalidArgument, "not a request id");
  fs::path rdir(request_dir(dir_, id));
  auto state = read_text_file((rdir / "state").string(), kStateFileBytesMax);
  if (!state.ok()) return make_error(ErrorCode::kNotFound, "no request " + id);
  RequestStatus out;
  if (*state == "pending") {
    out.state = RequestState::kPending;
  } else if (*state == "approved") {
    out.state = RequestState::kApproved;
    FOLIO_ASSIGN_OR_RETURN(out.chain_pem,
                           read_text_file((rdir / "chain.pem").string(), kPemBytesMax));
  } else if (state->rfind("rejected", 0) == 0) {
    out.state = RequestState::kRejected;
    out.reason = state->size() > 9 ? state->substr(9) : "";
  } else {
    return make_error(ErrorCode::kInternal, "request " + id + ": unreadable state");
  }
  return out;
}

Result<RequestStatus> DoormanStore::status(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return status_locked(id);
}

Status DoormanStore::reject(const std::string& id, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  FOLIO_ASSIGN_OR_RETURN(RequestStatus current, status_locked(id));
  if (current.state == RequestState::kApproved)
    return make_error(ErrorCode::kConflict, "request " + id + " is already approved");
  std::string clean;
  for (char c : reason.substr(0, kReasonBytesMax))
    clean += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
  return write_text_file((fs::path(request_dir(dir_, id)) / "state").string(), "rejected " + clean);
}

Status DoormanStore::approve(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  FOLIO_ASSIGN_OR_RETURN(RequestStatus current, status_locked(id));
  if (current.state == RequestState::kApproved) return ok_status();
  if (current.state == RequestState::kRejected)
    return make_error(ErrorCode::kConflict, "request " + id + " was rejected: " + current.reason);
  fs::path rdir(request_dir(dir_, id));
  FOLIO_ASSIGN_OR_RETURN(std::string csr_pem,
                         read_text_file((rdir / "csr.pem").string(), kPemBytesMax));
  FOLIO_ASSIGN_OR_RETURN(VerifiedCsr csr, verify_csr(csr_pem));
  // Reserve the name for this key; if another key holds it, the request is rejected for good.
  FOLIO_ASSIGN_OR_RETURN(
      bool created, create_exclusive(name_file(dir_, csr.subject), csr.public_key.public_pem()));
  if (!created) {
    Status free = check_name_free(csr.subject, csr.public_key);
    if (!free.ok()) {
      FOLIO_TRY(write_text_file((rdir / "state").string(),
                                "rejected name already issued to another key"));
      return free;
    }
  }
  FOLIO_ASSIGN_OR_RETURN(
      Certificate node_ca,
      issue_certificate(CertRole::kNodeCa, csr.subject, csr.public_key, doorman_ca_, doorman_key_,
                        Validity::days_from_now(kNodeCaValidityDays)));
  FOLIO_TRY(write_text_file((rdir / "chain.pem").string(), chain_to_pem({node_ca, doorman_ca_})));
  FOLIO_TRY(write_text_file((rdir / "state").string(), "approved"));
  return ok_status();
}

std::vector<std::string> DoormanStore::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(dir_) / "requests", ec)) {
    std::string id = entry.path().filename().string();
    auto s = status_locked(id);
    if (s.ok() && s->state == RequestState::kPending) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// ---- DoormanServer --------------------------------------------------------------------------

struct DoormanServer::Impl {
  DoormanStore& store;
  DoormanOptions options;
  HttpService http;
};

DoormanServer::DoormanServer(DoormanStore& store, DoormanOptions options)
    : impl_(new Impl{store, options, {}}) {
  httplib::Server& server = impl_->http.server();
  Impl* impl = impl_.get();
  server.Post("/certificate", [impl](const httplib::Request& req, httplib::Response& res) {
    auto id = impl->store.submit(req.body);
    if (!id.ok()) return reply_error(res, http_status_of(id.error()), id.error().message());
    if (impl->options.dev_mode) {
      Status approved = impl->store.approve(*id);
      if (!approved.ok())
        return reply_error(res, http_status_of(approved.error()), approved.error().message());
    }
    res.set_content(dump({{"request_id", *id}}), "application/json");
  });
  server.Get("/certificate/([0-9a-f]{32})",
             [impl](const httplib::Request& req, httplib::Response& res) {
               auto status = impl->store.status(req.matches[1]);
               if (!status.ok())
                 return reply_error(res, http_status_of(status.error()), status.error().message());
               res.set_content(dump(status_json(*status)), "application/json");
             });
  if (!options.admin_endpoints) return;
  auto admin = [impl](bool approve) {
    return [impl, approve](const httplib::Request& req, httplib::Response& res) {
      if (!is_loopback(req)) return reply_error(res, 403, "admin endpoints answer localhost only");
      std::string id = req.matches[1];
      Status done = approve ? impl->store.approve(id) : impl->store.reject(id, req.body);
      if (!done.ok()) return reply_error(res, http_status_of(done.error()), done.error().message());
      auto status = impl->store.status(id);
      if (!status.ok()) return reply_error(res, 500, status.error().message());
      res.set_content(dump(status_json(*status)), "application/json");
    };
  };
  server.Post("/admin/approve/([0-9a-f]{32})", admin(true));
  server.Post("/admin/reject/([0-9a-f]{32})", admin(false));
  server.Get("/admin/pending", [impl](const httplib::Request& req, httplib::Response& res) {
    if (!is_loopback(req)) return reply_error(res, 403, "admin endpoints answer localhost only");
    res.set_content(dump(json(impl->store.pending())), "application/json");
  });
}

DoormanServer::~DoormanServer() { stop(); }

Result<int> DoormanServer::start(const std::string& host, int port) {
  return impl_->http.start(host, port, kPemBytesMax);
}

void DoormanServer::stop() { impl_->http.stop(); }

// ---- DoormanClient --------------------------------------------------------------------------

DoormanClient::DoormanClient(std::string host, int port) : host_(std::move(host)), port_(port) {}

Result<std::string> DoormanClient::submit(const std::string& csr_pem) {
  auto client = make_http_client(host_, port_);
  auto result = client->Post("/certificate", csr_pem, "application/x-pem-file");
  if (!result || result->status != 200) return http_failure(result, "doorman submit");
  json j = json::parse(result->body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("request_id") ||
      !j["request_id"].is_string() || !is_request_id(j["request_id"].get<std::string>()))
    return make_error(ErrorCode::kMalformed, "doorman submit: unexpected answer");
  return j["request_id"].get<std::string>();
}

Result<RequestStatus> DoormanClient::status(const std::string& id) {
  if (!is_request_id(id)) return make_error(ErrorCode::kInvalidArgument, "not a request id");
  auto client = make_http_client(host_, port_);
  auto result = client->Get("/certificate/" + id);
  if (!result || result->status != 200) return http_failure(result, "doorman status");
  json j = json::parse(result->body, nullptr, false);
  auto field = [&](const char* key) -> std::optional<std::string> {
    if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return std::nullopt;
    return j[key].get<std::string>();
  };
  std::optional<std::string> state = j.is_discarded() ? std::nullopt : field("status");
  RequestStatus out;
  if (state == "pending") {
    out.state = RequestState::kPending;
  } else if (state == "approved" && field("chain")) {
    out.state = RequestState::kApproved;
    out.chain_pem = *field("chain");
  } else if (state == "rejected") {
    out.state = RequestState::kRejected;
    out.reason = field("reason").value_or("");
  } else {
    return make_error(ErrorCode::kMalformed, "doorman status: unexpected answer");
  }
  return out;
}

Result<std::vector<Certificate>> DoormanClient::wait_for_approval(const std::string& id,
                                                                  int attempts, int interval_ms) {
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    FOLIO_ASSIGN_OR_RETURN(RequestStatus s, status(id));
    if (s.state == RequestState::kApproved) return Certificate::chain_from_pem(s.chain_pem);
    if (s.state == RequestState::kRejected)
      return make_error(ErrorCode::kVerification, "request " + id + " rejected: " + s.reason);
  }
  return make_error(ErrorCode::kTimeout, "request " + id + " still pending");
}

Result<NodeCertificates> obtain_node_certificates(DoormanClient& client, const X500Name& name,
                                                  const Certificate& root,
                                                  const std::string& certificates_dir, int attempts,
                                                  int interval_ms) {
  // The node CA key is written before the request leaves, so a node restarted while it waits
  // asks again with the same key (and so the same request id).
  NodeCertificateFiles files = NodeCertificateFiles::in(certificates_dir);
  KeyPair key;
  std::error_code ec;
  if (fs::exists(files.node_ca_key, ec)) {
    FOLIO_ASSIGN_OR_RETURN(key, read_private_key(files.node_ca_key));
  } else {
    FOLIO_ASSIGN_OR_RETURN(key, KeyPair::generate(KeyType::kEd25519));
    FOLIO_TRY(key.write_private_key_pem(files.node_ca_key));
  }
  FOLIO_ASSIGN_OR_RETURN(std::string csr, create_csr(name, key));
  FOLIO_ASSIGN_OR_RETURN(std::string id, client.submit(csr));
  FOLIO_ASSIGN_OR_RETURN(std::vector<Certificate> chain,
                         client.wait_for_approval(id, attempts, interval_ms));
  FOLIO_ASSIGN_OR_RETURN(X500Name issued, verify_node_chain(chain, root, CertRole::kNodeCa));
  if (issued != name)
    return make_error(ErrorCode::kVerification,
                      "doorman issued " + issued.str() + ", not " + name.str());
  if (!same_key(key, X509_get0_pubkey(chain[0].x509())))
    return make_error(ErrorCode::kVerification, "doorman certified another key");
  FOLIO_ASSIGN_OR_RETURN(
      NodeCertificates certs,
      issue_node_certificates(key, chain, root, Validity::days_from_now(kNodeCaValidityDays)));
  FOLIO_TRY(write_node_certificates(certificates_dir, certs));
  return certs;
}

}  // namespace folio::identity
