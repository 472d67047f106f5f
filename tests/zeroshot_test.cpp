// Zero-shot prompt construction against literal strings written from lm-evaluation-harness 0.4's
// task definitions (two records of each task, as the HF datasets hold them), lm-eval's pair encoding,
// and the messages for malformed records.
#include <chrono>
#include <cmath>
#include <fstream>

#include <gtest/gtest.h>

#include "enwanda/errors.h"
#include "enwanda/eval/lmeval_results.h"
#include "enwanda/eval/mmlu.h"
#include "enwanda/eval/zeroshot.h"
#include "enwanda/model/synth.h"
#include "test_util.h"

using namespace enwanda;
using Strings = std::vector<std::string>;

namespace {
Strings prefixed(const Strings& choices) {
  Strings out;
  for (const auto& c : choices) out.push_back(" " + c);
  return out;
}

// Every choice shares `context`; continuations are " " + choice.
void expect_shared(const Example& ex, const std::string& context, const Strings& choices, int64_t label) {
  EXPECT_EQ(ex.contexts, Strings(choices.size(), context));
  EXPECT_EQ(ex.continuations, prefixed(choices));
  EXPECT_EQ(ex.choice_texts, choices);
  EXPECT_EQ(ex.label, label);
}
}  // namespace

TEST(ZeroShot, BoolqPrompt) {
  expect_shared(boolq_example({{"passage", "Water boils at 100 C."}, {"question", "does water boil at 100 c"}, {"answer", true}}),
                "Water boils at 100 C.\nQuestion: does water boil at 100 c?\nAnswer:", {"no", "yes"}, 1);
  expect_shared(boolq_example({{"question", "is windows movie maker part of windows essentials"},
                               {"passage", "Windows Movie Maker is a discontinued video editing software by Microsoft."},
                               {"idx", 3}, {"label", 0}}),
                "Windows Movie Maker is a discontinued video editing software by Microsoft.\n"
                "Question: is windows movie maker part of windows essentials?\nAnswer:",
                {"no", "yes"}, 0);
}

TEST(ZeroShot, RtePromptFromGlueAndSuperGlueFields) {
  expect_shared(rte_example({{"sentence1", "No Weapons of Mass Destruction Found in Iraq Yet."},
                             {"sentence2", "Weapons of Mass Destruction Found in Iraq."}, {"label", 1}, {"idx", 0}}),
                "No Weapons of Mass Destruction Found in Iraq Yet.\nQuestion: Weapons of Mass Destruction Found in Iraq. "
                "True or False?\nAnswer:",
                {"True", "False"}, 1);
  expect_shared(rte_example({{"premise", "A place of sorrow, after Pope John Paul II died, became a place of celebration."},
                             {"hypothesis", "Pope Benedict XVI is the new leader of the Roman Catholic Church."}, {"label", 0}}),
                "A place of sorrow, after Pope John Paul II died, became a place of celebration.\n"
                "Question: Pope Benedict XVI is the new leader of the Roman Catholic Church. True or False?\nAnswer:",
                {"True", "False"}, 0);
}

TEST(ZeroShot, HellaswagPreprocessing) {
  nlohmann::json doc = {{"activity_label", "Removing ice from car"},
                        {"ctx_a", "Then, the man writes over the snow covering the window of a car [title] Step one."},
                        {"ctx_b", "a WOMAN wearing winter clothes"},
                        {"endings", {"  smiles [header] at the camera.  ", "walks away"}},
                        {"label", "1"}};
  expect_shared(hellaswag_example(doc),
                "Removing ice from car: Then, the man writes over the snow covering the window of a car. Step one. "
                "A woman wearing winter clothes",
                {"smiles at the camera.", "walks away"}, 1);
  expect_shared(hellaswag_example({{"activity_label", "Baking cookies"},
                                   {"ctx_a", "A female chef in white uniform shows a stack of baking pans."},
                                   {"ctx_b", "she"},
                                   {"endings", {"places a pan in the oven.", "dances [step] around."}},
                                   {"label", "0"}}),
                "Baking cookies: A female chef in white uniform shows a stack of baking pans. She",
                {"places a pan in the oven.", "dances around."}, 0);
}

TEST(ZeroShot, WinograndeScoresOneContinuationAfterEachPartialContext) {
  auto ex = winogrande_example({{"sentence", "Sarah was a much better surgeon than Maria so _ always got the easier cases."},
                                {"option1", "Sarah"}, {"option2", "Maria"}, {"answer", "2"}});
  EXPECT_EQ(ex.contexts, (Strings{"Sarah was a much better surgeon than Maria so Sarah",
                                  "Sarah was a much better surgeon than Maria so Maria"}));
  EXPECT_EQ(ex.continuations, Strings(2, " always got the easier cases."));
  EXPECT_EQ(ex.label, 1);
  ex = winogrande_example({{"sentence", "The trophy doesn't fit into the brown suitcase because the _ is too large. "},
                           {"option1", "trophy"}, {"option2", "suitcase"}, {"answer", "1"}});
  EXPECT_EQ(ex.contexts[1], "The trophy doesn't fit into the brown suitcase because the suitcase");
  EXPECT_EQ(ex.continuations[0], " is too large.");
  EXPECT_EQ(ex.label, 0);
}

TEST(ZeroShot, ArcPromptAndAnswerKeyByLabel) {
  expect_shared(arc_example({{"id", "Mercury_7175875"},
                             {"question", "An astronomer observes that a planet rotates faster after a meteorite impact. "
                                          "Which is the most likely effect of this increase in rotation?"},
                             {"choices", {{"text", {"Planetary density will decrease.", "Planetary years will become longer.",
                                                    "Planetary days will become shorter.", "Planetary gravity will become stronger."}},
                                          {"label", {"A", "B", "C", "D"}}}},
                             {"answerKey", "C"}}),
                "Question: An astronomer observes that a planet rotates faster after a meteorite impact. "
                "Which is the most likely effect of this increase in rotation?\nAnswer:",
                {"Planetary density will decrease.", "Planetary years will become longer.",
                 "Planetary days will become shorter.", "Planetary gravity will become stronger."},
                2);
  expect_shared(arc_example({{"question", "Which unit measures mass?"},
                             {"choices", {{"text", {"liter", "gram", "meter"}}, {"label", {"1", "2", "3"}}}},
                             {"answerKey", "2"}}),
                "Question: Which unit measures mass?\nAnswer:", {"liter", "gram", "meter"}, 1);
}

TEST(ZeroShot, OpenbookqaStemAsContext) {
  nlohmann::json choices = {{"text", {"puppies learning new tricks", "children growing up and getting old",
                                      "flowers wilting in a vase", "plants sprouting, blooming and wilting"}},
                            {"label", {"A", "B", "C", "D"}}};
  expect_shared(openbookqa_example({{"id", "7-980"}, {"question_stem", "The sun is responsible for"}, {"choices", choices},
                                    {"answerKey", "D"}}),
                "The sun is responsible for",
                {"puppies learning new tricks", "children growing up and getting old", "flowers wilting in a vase",
                 "plants sprouting, blooming and wilting"},
                3);
  // answerKey.lstrip(), as the task's doc_to_target
  EXPECT_EQ(openbookqa_example({{"question_stem", "When food is reduced in the stomach"}, {"choices", choices}, {"answerKey", " B"}}).label, 1);
}

TEST(ZeroShot, PiqaPrompt) {
  expect_shared(piqa_example({{"goal", "How do I ready a guinea pig cage for it's new occupants?"},
                              {"sol1", "Provide the guinea pig with a cage full of a few inches of bedding made of ripped paper strips."},
                              {"sol2", "Provide the guinea pig with a cage full of a few inches of bedding made of ripped jeans material."},
                              {"label", 0}}),
                "Question: How do I ready a guinea pig cage for it's new occupants?\nAnswer:",
                {"Provide the guinea pig with a cage full of a few inches of bedding made of ripped paper strips.",
                 "Provide the guinea pig with a cage full of a few inches of bedding made of ripped jeans material."},
                0);
  expect_shared(piqa_example({{"goal", "dresser"}, {"sol1", "can hold clothes"}, {"sol2", "can hold a house"}, {"label", 1}}),
                "Question: dresser\nAnswer:", {"can hold clothes", "can hold a house"}, 1);
}

TEST(ZeroShot, McTemplateForm) {
  expect_shared(mc_example({{"text", "Verify your account now"}, {"label", 1}}, "Email: {text}\nPhishing?", {"no", "yes"}),
                "Email: Verify your account now\nPhishing?", {"no", "yes"}, 1);
  // any field of the record, several fields, literal braces as Python's str.format writes them
  expect_shared(mc_example({{"subject", "Invoice"}, {"body", "Pay {now}"}, {"label", 0}}, "{{{subject}}} {body}?", {"no", "yes"}),
                "{Invoice} Pay {now}?", {"no", "yes"}, 0);
  // the choices from the record when --choices is not given
  expect_shared(mc_example({{"q", "2+2"}, {"choices", {"4", "5"}}, {"label", 0}}, "Q: {q}", {}), "Q: 2+2", {"4", "5"}, 0);
}

TEST(ZeroShot, McTemplateMustUseTheRecordsFields) {
  // a template that names no field would give every record the same prompt
  EXPECT_THROW(parse_template("Email: Phishing?"), UsageError);
  EXPECT_THROW(parse_template("Email: {{text}} Phishing?"), UsageError);  // {{ }}: literal braces, no field
  EXPECT_THROW(parse_template("Email: {text"), UsageError);
  EXPECT_THROW(parse_template("Email: text}"), UsageError);
  EXPECT_THROW(parse_template("Email: {} Phishing?"), UsageError);
  EXPECT_EQ(parse_template("E: {txt}").size(), 2u);
  // a field the template names that the record lacks: the file, line and field are named
  const std::string path = ::testing::TempDir() + "/zs_template.jsonl";
  std::ofstream(path) << R"({"txt": "a", "label": 0})" << "\n" << R"({"text": "b", "label": 1})" << "\n";
  try {
    load_task({"mc", path, "Email: {txt} Phishing?", {"no", "yes"}}, 0);
    ADD_FAILURE() << "a record without the template's field was accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), path + ":2: not a valid mc example: field \"txt\" is missing");
  }
  auto examples = load_task({"mc", path, "Email: {txt} Phishing?", {"no", "yes"}}, 1);
  EXPECT_EQ(examples[0].contexts[0], "Email: a Phishing?");
  EXPECT_EQ(examples[0].doc.dump(), R"({"txt":"a","label":0})");  // the record, keys in the file's order
}

// Python's re.sub("\\[.*?\\]", "", t) on the cases that decide it: shortest match, no match across a
// newline, an unclosed "[" kept, and a "[" followed by 60,000 words and no "]" (std::regex overflowed
// its stack on it) done in linear time.
TEST(ZeroShot, HellaswagBracketRemovalIsPythonsReSub) {
  EXPECT_EQ(hellaswag_preprocess("a [b] c [d] e"), "a c e");
  EXPECT_EQ(hellaswag_preprocess("a [b [c] d] e"), "a d] e");
  EXPECT_EQ(hellaswag_preprocess("x [y\nz] w"), "x [y\nz] w");
  EXPECT_EQ(hellaswag_preprocess("x [y\n[z] w"), "x [y\n w");
  EXPECT_EQ(hellaswag_preprocess("open [ and [] close"), "open close");
  EXPECT_EQ(hellaswag_preprocess("end ["), "end [");
  std::string words = "start [";
  for (int i = 0; i < 60000; ++i) words += " word";
  EXPECT_EQ(hellaswag_preprocess(words), words);
  EXPECT_EQ(hellaswag_preprocess(words + "] tail"), "start tail");
}

TEST(ZeroShot, CodePointsArePythonsLen) {
  EXPECT_EQ(code_points(""), 0);
  EXPECT_EQ(code_points("abc"), 3);
  EXPECT_EQ(code_points("café 東京 🌊"), 9);  // 17 bytes
  EXPECT_EQ(code_points("e\xcc\x81"), 2);     // e + combining acute
}

TEST(ZeroShot, Wanda7IsThePapersColumnOrder) {
  EXPECT_EQ(wanda7_tasks(), (Strings{"boolq", "rte", "hellaswag", "winogrande", "arc_easy", "arc_challenge", "openbookqa"}));
  EXPECT_FALSE(task_definition("boolq").reports_acc_norm);
  EXPECT_FALSE(task_definition("rte").reports_acc_norm);
  EXPECT_FALSE(task_definition("winogrande").reports_acc_norm);
  for (const char* t : {"hellaswag", "arc_easy", "arc_challenge", "openbookqa", "piqa"}) EXPECT_TRUE(task_definition(t).reports_acc_norm) << t;
  EXPECT_THROW(task_definition("lambada"), UsageError);
}

// lambada_openai.yaml: doc_to_text "{{text.split(' ')[:-1]|join(' ')}}", doc_to_target "{{' '+text.split(' ')[-1]}}"
TEST(ZeroShot, LambadaSplitsAtTheLastSingleSpace) {
  const auto& def = task_definition("lambada_openai");
  EXPECT_TRUE(def.loglikelihood);
  EXPECT_EQ(def.split, "test");
  EXPECT_FALSE(task_definition("piqa").loglikelihood);
  auto split = [](const std::string& text) {
    Example ex = lambada_example(nlohmann::json{{"text", text}});
    EXPECT_EQ(ex.contexts.size(), 1u);
    EXPECT_EQ(ex.continuations.size(), 1u);
    EXPECT_EQ(ex.label, 0);
    return std::make_pair(ex.contexts[0], ex.continuations[0]);
  };
  EXPECT_EQ(split("the bird sang"), std::make_pair(std::string("the bird"), std::string(" sang")));
  EXPECT_EQ(split("a quiet  bird"), std::make_pair(std::string("a quiet "), std::string(" bird")));  // ['a', 'quiet', '', 'bird']
  EXPECT_EQ(split("word"), std::make_pair(std::string(""), std::string(" word")));
  EXPECT_EQ(split("ends with "), std::make_pair(std::string("ends with"), std::string(" ")));
  EXPECT_EQ(split("line\nbreak here"), std::make_pair(std::string("line\nbreak"), std::string(" here")));  // only ' ' splits
  EXPECT_THROW(lambada_example(nlohmann::json{{"txt", "a b"}}), InputError);
}

TEST(ZeroShot, MalformedRecordsNameFileLineAndField) {
  const std::string path = ::testing::TempDir() + "/zs_bad.jsonl";
  auto message_for = [&](const std::string& task, const std::string& record) -> std::string {
    std::ofstream(path) << "\n" << record << "\n";
    try {
      load_task({task, path, "", {}}, 0);
    } catch (const InputError& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_EQ(message_for("winogrande", R"({"sentence": "a _ b", "option1": "x", "option2": "y"})"),
            path + ":2: not a valid winogrande example: field \"answer\" is missing");
  EXPECT_EQ(message_for("boolq", R"({"passage": "p", "question": "q", "label": "yes"})"),
            path + ":2: not a valid boolq example: field \"label\" must be an integer label, got \"yes\"");
  EXPECT_EQ(message_for("arc_easy", R"({"question": "q", "choices": {"text": ["a"], "label": ["A"]}, "answerKey": "E"})"),
            path + ":2: not a valid arc_easy example: answerKey \"E\" is not one of choices.label [\"A\"]");
  EXPECT_EQ(message_for("piqa", R"({"goal": "g", "sol1": "a", "sol2": "b", "label": 2})"),
            path + ":2: not a valid piqa example: label 2 is not a choice index (there are 2 choices)");
  EXPECT_EQ(message_for("rte", "{not json"), path + ":2: not a JSON record (the data must be one JSON object per line)");
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

// MMLU's prompt as lm-eval's _default_template_yaml and FirstNSampler build it, written out by hand
TEST(ZeroShot, MmluPromptWithFirstNShots) {
  const nlohmann::json q = {{"question", " What is 2+2?\u00a0\n"}, {"subject", "abstract_algebra"},
                            {"choices", {"1", "4", "3", "22"}}, {"answer", 1}};
  const nlohmann::json d1 = {{"question", "Find x."}, {"choices", {"a", "b", "c", "d"}}, {"answer", 3}};
  const nlohmann::json d2 = {{"question", "Why?"}, {"choices", {"e", "f", "g", "h"}}, {"answer", 0}};
  const std::string question = "What is 2+2?\nA. 1\nB. 4\nC. 3\nD. 22\nAnswer:";
  const std::string description = "The following are multiple choice questions (with answers) about abstract algebra.\n\n";
  auto ex = mmlu_example("abstract_algebra", {d1, d2}, q, 0);
  expect_shared(ex, description + question, {"A", "B", "C", "D"}, 1);
  ex = mmlu_example("abstract_algebra", {d1, d2, q}, q, 2);
  expect_shared(ex,
                description + "Find x.\nA. a\nB. b\nC. c\nD. d\nAnswer: D\n\nWhy?\nA. e\nB. f\nC. g\nD. h\nAnswer: A\n\n" + question,
                {"A", "B", "C", "D"}, 1);
  // the document itself among the first n dev records is skipped (get_context's x != doc)
  ex = mmlu_example("abstract_algebra", {q, d1}, q, 2);
  EXPECT_EQ(ex.contexts[0], description + "Find x.\nA. a\nB. b\nC. c\nD. d\nAnswer: D\n\n" + question);
  EXPECT_THROW(mmlu_example("abstract_algebra", {d1}, q, 2), UsageError);
  EXPECT_EQ(mmlu_category("high_school_government_and_politics"), "social_sciences");
  EXPECT_EQ(mmlu_subjects().size(), 57u);
}

// lm_eval/api/metrics.py aggregate_subtask_metrics (weight_by_size) and pooled_sample_stderr, by hand
TEST(ZeroShot, GroupAggregateIsSizeWeightedWithPooledStderr) {
  const GroupMetric g = aggregate_group({{0.5, 0.1, 10}, {0.8, 0.2, 30}});
  EXPECT_DOUBLE_EQ(g.value, (0.5 * 10 + 0.8 * 30) / 40);
  EXPECT_DOUBLE_EQ(g.stderr, std::sqrt((9 * 0.01 * 10 + 29 * 0.04 * 30) / 38.0 / 40.0));
  EXPECT_EQ(g.size, 40);
  EXPECT_LT(aggregate_group({{0.5, 0.1, 10}, {1.0, -1, 1}}).stderr, 0);  // an "N/A" member: the group's N/A
}

TEST(ZeroShot, LmEvalNamesAndNumbersAsPythonWritesThem) {
  EXPECT_EQ(lmeval_sanitize_model_name("meta-llama/Llama-2-7b-hf"), "meta-llama__Llama-2-7b-hf");
  EXPECT_EQ(lmeval_sanitize_model_name("/a//b:c?*[d]e"), "__a__b__c__d__e");
  EXPECT_EQ(python_float_repr(-1.5), "-1.5");
  EXPECT_EQ(python_float_repr(3.0), "3.0");
  EXPECT_EQ(python_float_repr(0.1), "0.1");
  EXPECT_EQ(python_float_repr(1e-05), "1e-05");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(-12.605038166046143), "-12.605038166046143");
  EXPECT_EQ(python_float_repr(1e16), "1e+16");
  EXPECT_EQ(python_float_repr(123456789012345.0), "123456789012345.0");
  const auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  EXPECT_EQ(lmeval_date_id(t).size(), 19u);  // no ".ffffff" when the microseconds are 0
  EXPECT_EQ(lmeval_date_id(t + std::chrono::microseconds(42)).substr(19), ".000042");
}
