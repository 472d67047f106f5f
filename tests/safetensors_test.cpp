// Safetensors reader and writer: golden bytes, dtype round trips, every malformed-header case,
// and a sharded checkpoint round trip.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "enwanda/errors.h"
#include "enwanda/model/checkpoint.h"
#include "enwanda/io/checkpoint_writer.h"
#include "enwanda/io/safetensors.h"
#include "enwanda/model/synth.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace enwanda;

namespace {
std::string read_file(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void write_file(const std::string& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

// A file from a header text and a data buffer of `data_len` bytes.
std::string file_with_header(const std::string& json, size_t data_len) {
  std::string out(8, '\0');
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + json + std::string(data_len, '\0');
}

std::string expect_rejected(const std::string& bytes) {
  std::string dir = fixtures::temp_dir("st");
  std::string p = dir + "/bad.safetensors";
  write_file(p, bytes);
  try {
    SafetensorsFile::open(p);
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << "message should name the file: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted a malformed file";
  return "";
}
}  // namespace

TEST(SafetensorsWriter, GoldenBytes) {
  std::string dir = fixtures::temp_dir("golden");
  std::string p = dir + "/g.safetensors";
  {
    SafetensorsWriter w(p, {{"a", Dtype::F32, {2}}, {"b", Dtype::F16, {1}}}, {{"format", "pt"}});
    float a[2] = {1.0f, -2.0f};
    uint16_t b = 0x3c00;  // fp16 1.0
    w.write_bytes("b", &b, 2);
    w.write_bytes("a", a, 8);
    w.finish();
  }
  const std::string json =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1],"data_offsets":[8,10]}})";
  std::string padded = json + std::string((8 - json.size() % 8) % 8, ' ');
  std::string expected(8, '\0');
  expected[0] = static_cast<char>(padded.size());
  expected += padded;
  expected += std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0\x00\x3c", 10);
  EXPECT_EQ(read_file(p), expected);
  EXPECT_EQ(padded.size() % 8, 0u);
}

TEST(SafetensorsWriter, RoundTripEveryTensorDtype) {
  std::string dir = fixtures::temp_dir("rt");
  torch::manual_seed(0);
  auto base = torch::randn({3, 5});
  std::vector<std::pair<Dtype, torch::Tensor>> cases = {
      {Dtype::F32, base}, {Dtype::F16, base.to(torch::kFloat16)}, {Dtype::BF16, base.to(torch::kBFloat16)}};
  std::vector<SafetensorsWriter::Entry> entries;
  for (auto& [d, t] : cases) entries.push_back({dtype_name(d), d, t.sizes().vec()});
  entries.push_back({"raw_u8", Dtype::U8, {4}});
  std::string p = dir + "/rt.safetensors";
  SafetensorsWriter w(p, entries, {});
  for (auto& [d, t] : cases) w.write(dtype_name(d), t);
  uint8_t raw[4] = {1, 2, 3, 250};
  w.write_bytes("raw_u8", raw, 4);
  w.finish();
  auto f = SafetensorsFile::open(p);
  for (auto& [d, t] : cases) {
    auto back = f->tensor(dtype_name(d));
    EXPECT_EQ(back.scalar_type(), t.scalar_type());
    EXPECT_TRUE(torch::equal(back, t)) << dtype_name(d);
  }
  const auto& info = f->at("raw_u8");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f->data(info)), 4), std::string(reinterpret_cast<char*>(raw), 4));
  EXPECT_THROW(f->tensor("raw_u8"), InputError);
}

TEST(SafetensorsReader, RejectsMalformedHeaders) {
  const std::string ok_tensor = R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  struct Case {
    const char* name;
    std::string bytes;
    const char* expect;
  };
  std::string huge(8, '\0');
  uint64_t big = 200'000'000;
  for (int i = 0; i < 8; ++i) huge[i] = static_cast<char>((big >> (8 * i)) & 0xff);
  std::string beyond(8, '\0');
  beyond[0] = 100;
  beyond += "{}";
  std::vector<Case> cases = {
      {"shorter than 8 bytes", std::string("\x01\x00", 2), "shorter than the 8-byte"},
      {"header length beyond the file", beyond, "runs past the end"},
      {"header over 100 MB", huge + std::string(16, ' '), "exceeds the 100 MB limit"},
      {"not JSON", file_with_header("{not json", 0), "not valid UTF-8 JSON"},
      {"not an object", file_with_header("[1, 2]", 0), "JSON object"},
      {"invalid UTF-8", file_with_header("{\"\xff\xfe\":1}", 0), "not valid UTF-8 JSON"},
      {"duplicate names", file_with_header("{" + ok_tensor + "," + ok_tensor + "}", 8), "duplicate tensor name"},
      {"unknown dtype", file_with_header(R"({"t":{"dtype":"F7","shape":[2],"data_offsets":[0,8]}})", 8), "unknown dtype"},
      {"size mismatch", file_with_header(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "needs 12"},
      {"overflowing shape",
       file_with_header(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8), "overflows"},
      {"overlapping offsets",
       file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
       "overlaps"},
      {"gap between tensors",
       file_with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12),
       "gap"},
      {"out of order (end before begin)", file_with_header(R"({"t":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8),
       "end before they begin"},
      {"offsets past the end", file_with_header("{" + ok_tensor + "}", 4), "truncated"},
      {"buffer longer than tensors", file_with_header("{" + ok_tensor + "}", 12), "cover 8"},
      {"negative dimension", file_with_header(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8), "negative"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string msg = expect_rejected(c.bytes);
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.name << ": " << msg;
  }
}

TEST(SafetensorsReader, AcceptsOutOfOrderButContiguousEntries) {
  std::string dir = fixtures::temp_dir("order");
  std::string p = dir + "/o.safetensors";
  write_file(p, file_with_header(
                    R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8));
  auto f = SafetensorsFile::open(p);
  EXPECT_EQ(f->header().tensors.front().name, "a");
}

TEST(Checkpoint, ShardedRoundTripKeepsLayoutAndBytes) {
  ENWANDA_SKIP_IF_NO_TOKENIZER();
  std::string dir = fixtures::temp_dir("shard");
  SynthOptions o;
  o.shape = "tiny";
  o.out = dir + "/in";
  o.shard_mib = 0;  // every tensor in its own shard... bounded below by one tensor per shard
  synth(o);
  auto in = Checkpoint::open(o.out);
  ASSERT_TRUE(in->sharded());
  ASSERT_GT(in->shard_names().size(), 2u);
  {
    CheckpointWriter w(in, dir + "/out", false, {{"enwanda.test", "1"}});
    for (const auto& name : in->tensor_names()) w.copy(name);
    w.commit();
  }
  auto out = Checkpoint::open(dir + "/out");
  EXPECT_EQ(out->shard_names(), in->shard_names());
  for (const auto& name : in->tensor_names()) {
    EXPECT_EQ(out->shard_of(name), in->shard_of(name));
    EXPECT_TRUE(torch::equal(out->tensor(name), in->tensor(name))) << name;
  }
  EXPECT_EQ(out->file_of(in->tensor_names()[0]).header().metadata.at("format"), "pt");
  std::ifstream idx(dir + "/out/model.safetensors.index.json");
  auto j = nlohmann::json::parse(idx);
  EXPECT_EQ(j["metadata"]["total_size"].get<uint64_t>(), in->total_bytes());
  EXPECT_TRUE(fs::exists(dir + "/out/tokenizer.model"));
  EXPECT_TRUE(fs::exists(dir + "/out/config.json"));
}

TEST(Checkpoint, IndexErrorsNameTheShardAndTensor) {
  ENWANDA_SKIP_IF_NO_TOKENIZER();
  std::string dir = fixtures::temp_dir("idx");
  SynthOptions o;
  o.shape = "tiny";
  o.out = dir + "/m";
  o.shard_mib = 0;
  synth(o);
  std::string index_path = o.out + "/model.safetensors.index.json";
  auto j = nlohmann::json::parse(std::ifstream(index_path));
  auto original = j;
  // a shard named by the index is missing
  j["weight_map"]["model.norm.weight"] = "model-99999-of-99999.safetensors";
  std::ofstream(index_path) << j.dump();
  try {
    Checkpoint::open(o.out);
    FAIL() << "missing shard accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("model-99999-of-99999.safetensors"), std::string::npos) << e.what();
  }
  // a tensor mapped to the wrong file
  j = original;
  j["weight_map"]["model.norm.weight"] = original["weight_map"]["lm_head.weight"];
  std::ofstream(index_path) << j.dump();
  try {
    Checkpoint::open(o.out);
    FAIL() << "wrong shard accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("does not contain it"), std::string::npos) << e.what();
  }
}

TEST(Synth, DeterministicForASeed) {
  ENWANDA_SKIP_IF_NO_TOKENIZER();
  std::string dir = fixtures::temp_dir("synth");
  auto make = [&](const std::string& name, uint64_t seed) {
    SynthOptions o;
    o.shape = "tiny";
    o.seed = seed;
    o.tokenizer = fixtures::tiny_checkpoint() + "/tokenizer.model";
    o.out = dir + "/" + name;
    synth(o);
    return read_file(o.out + "/model.safetensors");
  };
  std::string a = make("a", 4), b = make("b", 4), c = make("c", 5);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  auto ck = Checkpoint::open(dir + "/a");
  auto q = ck->tensor(layer_tensor_name(0, "self_attn.q_proj"));
  EXPECT_NEAR(q.std().item<double>(), 0.02, 0.002);  // std 0.02 normal weights
  EXPECT_TRUE(torch::equal(ck->tensor("model.norm.weight"), torch::ones({64})));  // norms at 1
  EXPECT_EQ(ck->config().num_key_value_heads, 2);
}

TEST(OutputDirectory, RefusesAnOutputTheDiskCannotHold) {
  std::string dir = fixtures::temp_dir("space");
  const fs::space_info space = fs::space(dir);
  const std::string out = dir + "/not/yet/made";  // measured on the nearest directory that exists
  EXPECT_NO_THROW(require_free_space(out, 1));
  try {
    require_free_space(out, space.available + (1ull << 40));  // a TiB more than is free
    FAIL() << "an output larger than the free space was accepted";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("is free on " + fs::absolute(dir).lexically_normal().string() + ";"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(fs::is_empty(dir));
}

TEST(OutputDirectory, RemoveTreeRemovesNestedEntriesButNotWhatLinksPointTo) {
  std::string dir = fixtures::temp_dir("tree");
  const fs::path outside = fs::path(dir) / "outside";
  fs::create_directories(outside);
  std::ofstream(outside / "keep.txt") << "kept";
  const fs::path tree = fs::path(dir) / "tree";
  fs::create_directories(tree / "a" / "b");
  std::ofstream(tree / "top.bin") << "x";
  std::ofstream(tree / "a" / "b" / "deep.bin") << "y";
  fs::create_directory_symlink(outside, tree / "a" / "link");
  remove_tree(tree.string());
  EXPECT_FALSE(fs::exists(tree));
  EXPECT_TRUE(fs::exists(outside / "keep.txt"));  // the link was removed, not followed
  remove_tree((fs::path(dir) / "never-made").string());  // quietly nothing
  EXPECT_TRUE(fs::exists(outside));
}
