// How outputs are committed when something else touches the same names: an output that appears
// while a run writes is never replaced (the result is kept and named), a symlink planted at a
// temporary's name is never written through, temporaries of dead runs are removed, a shard index
// cannot name paths or enwanda's report, and a shard truncated while mapped ends the run cleanly.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "enwanda/errors.h"
#include "enwanda/io/crash_cleanup.h"
#include "enwanda/io/output_directory.h"
#include "enwanda/io/output_file.h"
#include "enwanda/io/replace_guard.h"
#include "enwanda/io/shard_index.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace enwanda;

namespace {
std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}
pid_t dead_pid() {  // a child that has exited and been reaped
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  return pid;
}
}  // namespace

TEST(OutputCommit, DirectoryThatAppearedWithAUsersFileIsNotReplaced) {
  const std::string dir = fixtures::temp_dir("commit"), out = dir + "/out";
  for (bool overwrite : {false, true}) {
    fs::remove_all(out);
    OutputDirectory od(out, overwrite);
    write_text_file(od.path() + "/weights.txt", "result");
    fs::create_directory(out);  // a user makes the directory meanwhile and saves notes in it
    write_text_file(out + "/notes.txt", "my notes");
    try {
      od.commit();
      FAIL() << "commit replaced a directory that appeared during the run (overwrite " << overwrite << ")";
    } catch (const UsageError& e) {
      const std::string kept = out + ".kept-" + std::to_string(getpid());
      EXPECT_NE(std::string(e.what()).find(kept), std::string::npos) << e.what();
      EXPECT_EQ(read_all(kept + "/weights.txt"), "result");
      fs::remove_all(kept);
    }
    EXPECT_EQ(read_all(out + "/notes.txt"), "my notes");
  }
  EXPECT_EQ(entries(dir), std::vector<std::string>{"out"});  // no temporary left
}

TEST(OutputCommit, FileThatAppearedIsNotReplacedEvenIfEnwandaWroteIt) {
  const std::string dir = fixtures::temp_dir("commit"), target = dir + "/calib.npy";
  OutputFile a(target, /*overwrite=*/false);
  a.write("first", 5);
  write_text_file(target, "{\"enwanda_version\": \"x\"}");  // another run committed first
  try {
    a.commit();
    FAIL() << "the second commit replaced the first";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(target + ".kept-"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_all(target), "{\"enwanda_version\": \"x\"}");
  EXPECT_EQ(read_all(target + ".kept-" + std::to_string(getpid())), "first");
  // with --overwrite an enwanda-written file is replaced, someone else's is not
  OutputFile b(target, /*overwrite=*/true);
  b.write("second", 6);
  b.commit();
  EXPECT_EQ(read_all(target), "second");
  write_text_file(target, "my notes");
  OutputFile c(target, /*overwrite=*/true);
  c.write("third", 5);
  EXPECT_THROW(c.commit(), UsageError);
  EXPECT_EQ(read_all(target), "my notes");
}

TEST(OutputCommit, PlantedSymlinksAtTemporaryNamesAreNotFollowed) {
  const std::string dir = fixtures::temp_dir("symlink"), victim = dir + "/victim.txt", target = dir + "/r.json";
  write_text_file(victim, "precious");
  fs::create_symlink(victim, target + ".tmp");  // the fixed name older versions wrote through
  for (int pid = getpid(), i = 0; i < 3; ++i)
    fs::create_symlink(victim, dir + "/.r.json.tmp-" + std::to_string(pid) + "-" + std::to_string(i));
  write_text_file_atomic(target, "{}\n", false);
  EXPECT_EQ(read_all(victim), "precious");
  EXPECT_EQ(read_all(target), "{}\n");
  EXPECT_TRUE(fs::is_symlink(target + ".tmp"));
}

TEST(OutputCommit, TemporariesOfDeadRunsAreRemovedLiveOnesKept) {
  const std::string dir = fixtures::temp_dir("stale"), out = dir + "/out";
  const std::string dead_dir = dir + "/.out.tmp-" + std::to_string(dead_pid());
  const std::string live_dir = dir + "/.out.tmp-1";  // init: alive
  const std::string dead_file = dir + "/.out.tmp-" + std::to_string(dead_pid()) + "-0badcafe";
  fs::create_directory(dead_dir);
  write_text_file(dead_dir + "/model.safetensors", "half a model");
  fs::create_directory(live_dir);
  write_text_file(dead_file, "x");
  { OutputDirectory od(out, false); }
  EXPECT_FALSE(fs::exists(dead_dir));
  EXPECT_FALSE(fs::exists(dead_file));
  EXPECT_TRUE(fs::exists(live_dir));
}

// A run that has exited but is not yet reaped (a zombie, state Z) is gone: its temporary is removed.
TEST(OutputCommit, TemporaryOfAZombieRunIsRemoved) {
  const std::string dir = fixtures::temp_dir("zombie"), out = dir + "/out";
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  for (int i = 0; i < 500; ++i) {  // until it has exited (state Z), at most 5 s
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    std::getline(in, stat);
    if (stat.size() > stat.rfind(')') + 2 && stat[stat.rfind(')') + 2] == 'Z') break;
    usleep(10000);
  }
  EXPECT_EQ(kill(pid, 0), 0);  // still there: not reaped
  EXPECT_TRUE(process_is_gone(pid));
  EXPECT_FALSE(process_is_gone(getpid()));
  const std::string temp = dir + "/.out.tmp-" + std::to_string(pid);
  fs::create_directory(temp);
  { OutputDirectory od(out, false); }
  EXPECT_FALSE(fs::exists(temp));
  waitpid(pid, nullptr, 0);
}

TEST(ShardIndex, NamesThatAreNotPlainShardFilesAreRefused) {
  for (const std::string bad : {"enwanda_report.json", "../x.safetensors", "a/b.safetensors", "..", "bad\\u0001.safetensors",
                                "bad\\u0000.safetensors", "line\\nbreak.safetensors"}) {
    const std::string index = "{\"weight_map\": {\"model.norm.weight\": \"" + bad + "\"}}";
    EXPECT_THROW(parse_shard_index(index, "index.json"), InputError) << bad;
  }
  EXPECT_NO_THROW(parse_shard_index("{\"weight_map\": {\"w\": \"model-00001-of-00002.safetensors\"}}", "index.json"));
}

TEST(CrashCleanup, ATruncatedMappingEndsTheRunNamingTheFileAndRemovingTemporaries) {
  const std::string dir = fixtures::temp_dir("sigbus"), shard = dir + "/model.safetensors", temp = dir + "/.out.tmp-x";
  const std::string err = dir + "/stderr";
  const long page = sysconf(_SC_PAGESIZE);
  write_text_file(shard, std::string(static_cast<size_t>(4 * page), 'w'));
  fs::create_directory(temp);
  const pid_t pid = fork();
  if (pid == 0) {
    freopen(err.c_str(), "w", stderr);
    install_bus_error_handler();
    register_temporary(temp);
    const int fd = open(shard.c_str(), O_RDONLY);
    auto* p = static_cast<volatile char*>(mmap(nullptr, static_cast<size_t>(4 * page), PROT_READ, MAP_PRIVATE, fd, 0));
    register_mapping(const_cast<char*>(p), static_cast<size_t>(4 * page), shard);
    if (truncate(shard.c_str(), page) != 0) _exit(10);  // another program truncates the shard
    volatile char c = p[3 * page];                        // a page that is gone: SIGBUS
    (void)c;
    _exit(11);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_NE(read_all(err).find(shard + " was truncated or rewritten while enwanda read it"), std::string::npos) << read_all(err);
  EXPECT_FALSE(fs::exists(temp));
}
