// The tokenizer module works inside a process that also links libtorch (the protobuf clash
// the dlopen isolation exists for), and encodes like sentencepiece with BOS prepended.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "enwanda/errors.h"
#include "enwanda/model/synth.h"
#include "enwanda/text/text_corpus.h"
#include "enwanda/text/tokenizer.h"
#include "test_util.h"

using namespace enwanda;

TEST(Tokenizer, TrainedAtTestTimeEncodesWithBosAndRoundTripsPieces) {
  ENWANDA_SKIP_IF_NO_TOKENIZER();
  auto t_torch = torch::ones({2, 2}).sum();  // libtorch (and its protobuf) is live in this process
  EXPECT_EQ(t_torch.item<float>(), 4.0f);
  std::string dir = fixtures::temp_dir("tok");
  Tokenizer::train(default_tokenizer_corpus(), dir + "/t", 400);
  auto tok = Tokenizer::load(dir + "/t.model");
  EXPECT_GE(tok->vocab_size(), 259);  // 256 byte pieces + unk/bos/eos at least
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  auto ids = tok->encode("The river rose.");
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids[0], 1);
  auto no_bos = tok->encode("The river rose.", false);
  EXPECT_EQ(std::vector<int64_t>(ids.begin() + 1, ids.end()), no_bos);
  // pieces reassemble the text (with sentencepiece's ▁ for spaces)
  std::string joined;
  for (auto id : no_bos) joined += tok->piece(id);
  EXPECT_EQ(joined, "\xe2\x96\x81The\xe2\x96\x81river\xe2\x96\x81rose.");
  // byte fallback: characters unseen in training still encode, to byte pieces
  auto unseen = tok->encode("\xe6\xbc\xa2", false);
  EXPECT_EQ(tok->piece(unseen.back()).rfind("<0x", 0), 0u);
}

TEST(Tokenizer, MissingOrCorruptModelIsAnInputError) {
  ENWANDA_SKIP_IF_NO_TOKENIZER();
  std::string dir = fixtures::temp_dir("tokbad");
  EXPECT_THROW(Tokenizer::load(dir + "/absent.model"), InputError);
  std::ofstream(dir + "/bad.model") << "this is not a sentencepiece model";
  try {
    Tokenizer::load(dir + "/bad.model");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.model"), std::string::npos);
  }
}

// Text over the chunk size is encoded in pieces cut just before a space between two words; the
// tokens must equal those of encoding the whole text, for models with and without sentencepiece's
// dummy prefix (which decides whether the next chunk keeps that space).
TEST(TextCorpus, ChunkedEncodingEqualsEncodingTheWholeText) {
  ENWANDA_SKIP_IF_NO_TOKENIZER();
  std::ifstream in(default_tokenizer_corpus());
  std::string text, line;
  for (int i = 0; std::getline(in, line); ++i) {  // WikiText's layout: " = Heading = ", lines led by a space
    if (i % 4 == 0) text += " = Section " + std::to_string(i) + " = \n \n";
    text += " " + line + " \n";
    if (i % 3 == 0) text += "caf\xc3\xa9  na\xc3\xafve, x=1.5; \n";
    if (i == 7) text += std::string(300, 'x') + "\n";  // no space between words for longer than a chunk
    if (i == 9) for (int k = 0; k < 60; ++k) text += "\xe6\xbc\xa2\xe5\xad\x97";
    // special-token literals in odd places: inside words, doubled, at a line's start and end, cut short
    if (i % 5 == 0) text += " <s> a</s>b <s><s> </s>\n<unk>x < s> <s </s\n</s>";
  }
  const std::string dir = fixtures::temp_dir("tokchunks");
  // LLaMA's settings; without the dummy prefix; and a vocabulary whose pieces span spaces (no
  // split_by_whitespace), where no cut is safe and the text must be encoded whole
  for (auto [dummy_prefix, split_words] : {std::pair{true, true}, {false, true}, {true, false}}) {
    const std::string name = std::string(dummy_prefix ? "dummy-prefix" : "no-dummy-prefix") +
                             (split_words ? "" : "-pieces-across-spaces");
    SCOPED_TRACE(name);
    const std::string prefix = dir + "/" + name;
    // (BPE on this corpus first joins words into pieces like "▁and▁the" at about 800 pieces)
    Tokenizer::train(default_tokenizer_corpus(), prefix, split_words ? 400 : 800, dummy_prefix, split_words);
    auto tok = Tokenizer::load(prefix + ".model");
    const auto whole = tok->encode(text);
    ASSERT_GT(whole.size(), 500u);
    for (size_t chunk : {97, 256, 1000, 100000}) {
      SCOPED_TRACE("chunk bytes " + std::to_string(chunk));
      EXPECT_EQ(tokenize_corpus(*tok, text, chunk), whole);
    }
  }
}
