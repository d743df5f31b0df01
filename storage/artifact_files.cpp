#include "storage/artifact_files.h"

#include <unistd.h>

#include <algorithm>
#include <memory>

#include "storage/rocks_db.h"

namespace deepreduce::storage {
namespace {

bool disk_full(const rocksdb::Status& s) {
  const std::string m = s.ToString();
  return s.IsNoSpace() || m.find("No space left") != std::string::npos || m.find("ENOSPC") != std::string::npos ||
         m.find("Disk quota exceeded") != std::string::npos;
}

}  // namespace

ArtifactFiles::ArtifactFiles(rocksdb::Env* env, const std::string& store)
    : env_(env), store_(store), dir_(store + "/artifacts") {}

std::string ArtifactFiles::name(const std::string& id, const std::string& kind, const std::string& blake2b) {
  return id + "." + kind + "." + blake2b.substr(0, 16);
}

Status ArtifactFiles::write(const std::string& file, const std::string& bytes, const std::string& what) const {
  const std::string final_path = path(file);
  const std::string temp = final_path + ".tmp-" + std::to_string(getpid());
  auto failed = [&](const char* step, const rocksdb::Status& s) {
    (void)env_->DeleteFile(temp);
    if (disk_full(s))
      return Status::io_error(store_ + ": the disk is full: storing " + what + " needs " +
                              std::to_string(bytes.size()) + " bytes (" + s.ToString() +
                              "); free space: everything stored before is kept");
    return Status::io_error(store_ + ": " + step + " " + temp + " for " + what + ": " + s.ToString());
  };
  std::unique_ptr<rocksdb::WritableFile> f;
  rocksdb::EnvOptions eo;
  if (auto s = env_->NewWritableFile(temp, &f, eo); !s.ok()) return failed("cannot create", s);
  // In slices, so that a file of gigabytes never waits in one buffer.
  constexpr size_t kSlice = 4 << 20;
  for (size_t off = 0; off < bytes.size(); off += kSlice)
    if (auto s = f->Append(rocksdb::Slice(bytes.data() + off, std::min(kSlice, bytes.size() - off))); !s.ok()) {
      (void)f->Close();
      return failed("cannot write", s);
    }
  if (auto s = f->Sync(); !s.ok()) {
    (void)f->Close();
    return failed("cannot sync", s);
  }
  if (auto s = f->Close(); !s.ok()) return failed("cannot close", s);
  if (auto s = env_->RenameFile(temp, final_path); !s.ok()) return failed("cannot rename", s);
  std::unique_ptr<rocksdb::Directory> d;
  auto s = env_->NewDirectory(dir_, &d);
  if (s.ok()) s = d->Fsync();
  if (s.ok()) s = d->Close();
  return from_rocks(s, dir_ + ": fsync");
}

Status ArtifactFiles::read(const std::string& file, std::string* bytes, const std::string& what) const {
  const std::string p = path(file);
  if (!env_->FileExists(p).ok()) return Status::not_found(what + ": " + p + " is missing");
  return from_rocks(rocksdb::ReadFileToString(env_, p, bytes), what + ": reading " + p);
}

bool ArtifactFiles::exists(const std::string& file) const { return env_->FileExists(path(file)).ok(); }

void ArtifactFiles::remove(const std::string& file) const { (void)env_->DeleteFile(path(file)); }

std::vector<std::string> ArtifactFiles::list() const {
  std::vector<std::string> files, out;
  if (!env_->GetChildren(dir_, &files).ok()) return out;
  for (auto& f : files)
    if (f != "." && f != "..") out.push_back(std::move(f));
  std::sort(out.begin(), out.end());
  return out;
}

void ArtifactFiles::remove_others(const std::set<std::string>& keep) const {
  for (const auto& f : list())
    if (!keep.count(f)) remove(f);
}

}  // namespace deepreduce::storage
