// Zero-shot prompt construction against literal strings, lm-eval's pair encoding.
#include <gtest/gtest.h>

#include "enwanda/synth.h"
#include "enwanda/zeroshot.h"
#include "test_util.h"

using namespace enwanda;

TEST(ZeroShot, BoolqPrompt) {
  auto ex = boolq_example({{"passage", "Water boils at 100 C."}, {"question", "does water boil at 100 c"}, {"answer", true}});
  EXPECT_EQ(ex.context, "Water boils at 100 C.\nQuestion: does water boil at 100 c?\nAnswer:");
  EXPECT_EQ(ex.continuations, (std::vector<std::string>{" no", " yes"}));
  EXPECT_EQ(ex.label, 1);
}

TEST(ZeroShot, HellaswagPreprocessing) {
  nlohmann::json doc = {{"activity_label", "Removing ice from car"},
                        {"ctx_a", "Then, the man writes over the snow covering the window of a car [title] Step one."},
                        {"ctx_b", "a WOMAN wearing winter clothes"},
                        {"endings", {"  smiles [header] at the camera.  ", "walks away"}},
                        {"label", "1"}};
  auto ex = hellaswag_example(doc);
  EXPECT_EQ(ex.context,
            "Removing ice from car: Then, the man writes over the snow covering the window of a car. Step one. "
            "A woman wearing winter clothes");
  EXPECT_EQ(ex.continuations[0], " smiles at the camera.");
  EXPECT_EQ(ex.choice_texts[1], "walks away");
  EXPECT_EQ(ex.label, 1);
}

TEST(ZeroShot, McTemplateForm) {
  auto ex = mc_example({{"text", "Verify your account now"}, {"label", 1}}, "Email: {text}\nPhishing?", {"no", "yes"});
  EXPECT_EQ(ex.context, "Email: Verify your account now\nPhishing?");
  EXPECT_EQ(ex.continuations, (std::vector<std::string>{" no", " yes"}));
}

TEST(ZeroShot, EncodePairMovesTrailingSpacesAndTakesTheTail) {
  ENWANDA_SKIP_IF_NO_TOKENIZER();
  auto tok = Tokenizer::load(fixtures::tiny_checkpoint() + "/tokenizer.model");
  for (bool bos : {true, false}) {
    auto [ctx, cont] = encode_pair(*tok, "The river ", "rose", bos);
    auto whole = tok->encode("The river rose", bos);
    auto ctx_expected = tok->encode("The river", bos);
    EXPECT_EQ(ctx, ctx_expected);
    EXPECT_EQ(ctx.front() == tok->bos_id(), bos);
    EXPECT_EQ(std::vector<int64_t>(whole.begin() + static_cast<long>(ctx.size()), whole.end()), cont);
    EXPECT_FALSE(cont.empty());
  }
}

TEST(ZeroShot, EmptyContextIsBosAloneWithOrWithoutBos) {
  ENWANDA_SKIP_IF_NO_TOKENIZER();
  auto tok = Tokenizer::load(fixtures::tiny_checkpoint() + "/tokenizer.model");
  // a context of spaces only is empty once its spaces move to the continuation
  const std::vector<std::pair<std::string, std::string>> cases = {{"", " the river"}, {"  ", "the river"}};
  for (bool bos : {true, false})
    for (const auto& [context, continuation] : cases) {
      auto [ctx, cont] = encode_pair(*tok, context, continuation, bos);
      EXPECT_EQ(ctx, std::vector<int64_t>{tok->bos_id()});
      EXPECT_EQ(cont, tok->encode(context + continuation, /*add_bos=*/false));
    }
}
