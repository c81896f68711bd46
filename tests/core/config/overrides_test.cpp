// overrides_test.cpp — `--set key=value` (config/overrides.cpp) through
// parse_pipeline: every value type (integer, float, boolean, string, array,
// a nested table, an array-of-tables entry), unknown keys with did-you-mean,
// values of the wrong type, keys the pipeline does not have, a key set twice,
// errors found later naming the --set argument, and the comment lines a run's
// pipeline.toml lists the overrides in.
#include "../../../core/src/config/overrides.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "../../../core/src/config/pipeline.hpp"

namespace {

using plinth::errc;
using plinth::config::Pipeline;

// A pipeline with a plugin table ([optimizer] lr), a data source with an
// array key, two layers, a block and a layer placing it.
const std::string kBase = R"([run]
name = "base"

[data.train]
source = "synthetic"
samples = 64
shape = [8]
num_classes = 2

[[model.block]]
name = "mlp"
layers = [{ type = "linear", out = 8 }, { type = "relu" }]

[[model.layer]]
type = "linear"
out = 16

[[model.layer]]
type = "block"
use = "mlp"

[[model.layer]]
type = "linear"
out = 2

[optimizer]
name = "adamw"
lr = 1e-3

[train]
epochs = 3
batch_size = 8
)";

Pipeline set_ok(const std::vector<std::string>& sets, const std::string& text = kBase) {
  auto r = plinth::config::parse_pipeline(text, "dir/p.toml", sets);
  EXPECT_TRUE(r.ok()) << r.status().message();
  if (!r.ok()) return Pipeline{};
  return std::move(r).value();
}

// The one error for `sets` on kBase.
std::string set_err(const std::vector<std::string>& sets, const std::string& text = kBase) {
  auto r = plinth::config::parse_pipeline(text, "dir/p.toml", sets);
  if (r.ok()) {
    ADD_FAILURE() << "expected an error for --set " << sets.back();
    return {};
  }
  EXPECT_EQ(r.status().code(), errc::config);
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos) << r.status().message();
  return r.status().message();
}

#define EXPECT_HAS(haystack, needle) EXPECT_NE((haystack).find(needle), std::string::npos) << (haystack)

TEST(overrides, integer_key_takes_an_integer) {
  const Pipeline p = set_ok({"train.batch_size=64"});
  EXPECT_EQ(p.train.batch_size, 64);
  EXPECT_EQ(p.train.epochs, 3);  // the rest as in the file
  EXPECT_HAS(plinth::config::resolved_toml(p), "batch_size = 64\n");
}

TEST(overrides, float_key_takes_a_float_or_an_integer) {
  Pipeline p = set_ok({"optimizer.lr=3e-4", "schedule.min_lr=0", "train.clip_grad_norm=2"});
  // A plugin key is typed by the value it replaces (lr = 1e-3, a float).
  const toml::node* lr = p.optimizer.table.get("lr");
  ASSERT_NE(lr, nullptr);
  ASSERT_TRUE(lr->is_floating_point());
  EXPECT_EQ(lr->as_floating_point()->get(), 3e-4);
  EXPECT_EQ(p.schedule.min_lr, 0.0);
  EXPECT_EQ(p.train.clip_grad_norm, 2.0);
  // An integer given for a float plugin key stays a float.
  p = set_ok({"optimizer.lr=1"});
  ASSERT_TRUE(p.optimizer.table.get("lr")->is_floating_point());
  EXPECT_EQ(p.optimizer.table.get("lr")->as_floating_point()->get(), 1.0);
  EXPECT_HAS(plinth::config::resolved_toml(p), "lr = 1.0\n");
}

TEST(overrides, boolean_key_takes_true_or_false) {
  Pipeline p = set_ok({"data.train.drop_last=true", "checkpoint.at_end=false"});
  EXPECT_TRUE(p.train_data.drop_last);
  EXPECT_FALSE(p.checkpoint.at_end);
  EXPECT_HAS(set_err({"checkpoint.at_end=yes"}),
             "--set checkpoint.at_end=yes: checkpoint.at_end: expected true or false, got 'yes'");
}

TEST(overrides, string_key_takes_the_text_as_given) {
  Pipeline p = set_ok({"run.name=foo", "data.train.root=/data/x y", "run.out_dir=\"q\\\"uoted\""});
  EXPECT_EQ(p.run.name, "foo");
  // A key the core does not know is the plugin's: a new one that is not a
  // TOML number, boolean or array is a string.
  ASSERT_NE(p.train_data.table.get("root"), nullptr);
  EXPECT_EQ(p.train_data.table.get("root")->value_or(std::string()), "/data/x y");
  EXPECT_EQ(p.run.out_dir, "q\"uoted");  // in quotes: a TOML string, escapes read
  // A string key takes digits as text.
  EXPECT_EQ(set_ok({"run.name=123"}).run.name, "123");
}

TEST(overrides, array_values_in_toml_syntax) {
  Pipeline p = set_ok({"data.train.shape=[4, 2]", "train.freeze=[\"linear0.*\"]"});
  const toml::array* shape = p.train_data.table.get("shape")->as_array();
  ASSERT_NE(shape, nullptr);
  ASSERT_EQ(shape->size(), 2u);
  EXPECT_EQ(shape->get(0)->value_or(int64_t{0}), 4);
  EXPECT_EQ(shape->get(1)->value_or(int64_t{0}), 2);
  EXPECT_EQ(p.train.freeze, std::vector<std::string>{"linear0.*"});
  // An array of strings may leave its items unquoted.
  EXPECT_EQ(set_ok({"train.freeze=[linear0.*, linear2.bias]"}).train.freeze,
            (std::vector<std::string>{"linear0.*", "linear2.bias"}));
  // The plugin's array stays an array.
  EXPECT_HAS(
      set_err({"data.train.shape=8"}),
      "--set data.train.shape=8: data.train.shape: expected an array, e.g. [32, 32], got an integer (8)");
  EXPECT_HAS(set_err({"train.freeze=linear0"}), "train.freeze: expected an array of strings");
}

TEST(overrides, nested_table_absent_from_the_file_is_created) {
  const Pipeline p =
      set_ok({"train.progressive.min_res=4", "train.progressive.end_ramp=2", "train.progressive.step=2"});
  EXPECT_TRUE(p.train.progressive.enabled);
  EXPECT_EQ(p.train.progressive.min_res, 4);
  EXPECT_EQ(p.train.progressive.end_ramp, 2);
  EXPECT_EQ(p.train.progressive.step, 2);
  // A required key of a created section is missing: the error names the --set.
  EXPECT_HAS(set_err({"train.progressive.min_res=4"}),
             "--set train.progressive.min_res=4: train.progressive.end_ramp: missing required key");
  const Pipeline l = set_ok({"model.lora.targets=[linear0]", "model.lora.rank=4"});
  EXPECT_TRUE(l.model.lora.enabled);
  EXPECT_EQ(l.model.lora.rank, 4);
  EXPECT_EQ(l.model.lora.alpha, 4.0);  // derived from the overridden rank
}

TEST(overrides, table_value_takes_an_inline_table) {
  const Pipeline p =
      set_ok({"init.from=runs/x", "init.rename={ \"transformer.\" = \"\", \"h.\" = \"blocks.\" }"});
  EXPECT_EQ(p.init.from, "runs/x");
  const std::vector<std::pair<std::string, std::string>> want{{"h.", "blocks."}, {"transformer.", ""}};
  auto got = p.init.rename;
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
  EXPECT_HAS(set_err({"init.from=runs/x", "init.rename=transformer."}),
             "--set init.rename=transformer.: init.rename: expected an inline table, e.g. { a = \"b\" }, got "
             "'transformer.'");
}

TEST(overrides, array_of_tables_entries_by_index) {
  const Pipeline p = set_ok({"model.layer.0.out=32", "model.layer.2.name=head",
                             "model.block.0.layers.0.out=4", "model.block.0.residual=true"});
  ASSERT_EQ(p.model.layers.size(), 3u);
  EXPECT_EQ(p.model.layers[0].integer("out"), 32);
  EXPECT_EQ(p.model.layers[2].name, "head");
  ASSERT_EQ(p.model.blocks.size(), 1u);
  EXPECT_EQ(p.model.blocks[0].layers[0].integer("out"), 4);
  EXPECT_TRUE(p.model.blocks[0].residual);
  // `inputs` is an array of layer names.
  EXPECT_EQ(set_ok({"model.layer.2.inputs=[linear0]"}).model.layers[2].inputs,
            std::vector<std::string>{"linear0"});
  // A layer's keys are typed by its type's table.
  EXPECT_HAS(set_err({"model.layer.0.out=wide"}),
             "--set model.layer.0.out=wide: model.layer.0.out: expected an integer, got 'wide'");
  // Changing a layer's type first makes the next --set read the new type's keys.
  const Pipeline q = set_ok({"model.block.0.layers.1.type=dropout", "model.block.0.layers.1.p=0.25"});
  EXPECT_EQ(q.model.blocks[0].layers[1].type, "dropout");
  EXPECT_EQ(q.model.blocks[0].layers[1].number("p"), 0.25);
  EXPECT_HAS(set_err({"model.block.0.layers.1.p=0.25"}), "not a key of a 'relu' layer");
}

TEST(overrides, unknown_keys_suggest_the_close_one) {
  EXPECT_EQ(set_err({"train.epoch=3"}),
            "--set train.epoch=3: train.epoch: unknown key (did you mean 'epochs'?)");
  EXPECT_EQ(set_err({"trian.epochs=3"}),
            "--set trian.epochs=3: trian: unknown section (did you mean 'train'?)");
  EXPECT_HAS(
      set_err({"model.layer.0.outt=3"}),
      "--set model.layer.0.outt=3: model.layer.0.outt: not a key of a 'linear' layer (did you mean 'out'?)");
  EXPECT_HAS(set_err({"data.train.shufle=false"}),
             "--set data.train.shufle=false: data.train.shufle: unknown key (did you mean 'shuffle'?)");
  EXPECT_HAS(set_err({"data.tarin.source=x"}), "data.tarin: unknown data split (did you mean 'train'?)");
  EXPECT_HAS(set_err({"model.block.0.resdual=true"}),
             "model.block.0.resdual: not a key of a [[model.block]] (did you mean 'residual'?)");
  EXPECT_HAS(set_err({"schedule.kind=cosine"}), "schedule.kind: unknown key; expected one of 'type'");
}

TEST(overrides, values_of_the_wrong_type_name_the_type_expected) {
  EXPECT_EQ(set_err({"train.batch_size=abc"}),
            "--set train.batch_size=abc: train.batch_size: expected an integer, got 'abc'");
  EXPECT_EQ(set_err({"train.batch_size=3.5"}),
            "--set train.batch_size=3.5: train.batch_size: expected an integer, got a float (3.5)");
  EXPECT_EQ(set_err({"optimizer.lr=fast"}),
            "--set optimizer.lr=fast: optimizer.lr: expected a number, got 'fast'");
  // The key's rule is checked by the reader, which names the --set too.
  EXPECT_EQ(set_err({"train.batch_size=0"}),
            "--set train.batch_size=0: train.batch_size: batch_size must be > 0, got 0");
  EXPECT_HAS(set_err({"schedule.type=cosin"}),
             "--set schedule.type=cosin: schedule.type: unknown schedule type");
  EXPECT_HAS(set_err({"model.layer.0.type=lineer"}), "--set model.layer.0.type=lineer: model.layer[0].type");
}

TEST(overrides, keys_the_pipeline_does_not_have) {
  EXPECT_EQ(set_err({"model.layer.3.out=4"}),
            "--set model.layer.3.out=4: model.layer.3: index 3 is past the end (the pipeline has 3, counted "
            "from 0); --set changes entries, it does not add them");
  const std::string no_block =
      "[data.train]\nsource = \"synthetic\"\n\n[[model.layer]]\ntype = \"linear\"\nout = 2\n";
  EXPECT_HAS(set_err({"model.block.0.name=x"}, no_block), "model.block: the pipeline has no [[model.block]]");
  EXPECT_HAS(set_err({"model.layer.x.out=4"}),
             "model.layer: is an array of tables: the next part must be an index");
  // A section the pipeline lacks is created, as writing it would: [data.eval]
  // then needs its source.
  EXPECT_HAS(set_err({"data.eval.samples=8"}),
             "--set data.eval.samples=8: data.eval.source: missing required key");
  Pipeline p = set_ok({"data.eval.source=synthetic", "data.eval.samples=8"});
  ASSERT_TRUE(p.eval_data.has_value());
  EXPECT_FALSE(p.eval_data->shuffle);  // the eval split's own default
  EXPECT_TRUE(set_ok({"early_stop.patience=2"}).early_stop.enabled);
  // Keys of a value, and a section without a key.
  EXPECT_HAS(set_err({"train.epochs.x=1"}), "train.epochs: holds an integer, not a table");
  EXPECT_HAS(set_err({"train=1"}), "--set train=1: train: is a section: name one of its keys");
  EXPECT_HAS(set_err({"model.layer.0=1"}), "model.layer.0: is a layer: name one of its keys");
}

TEST(overrides, plugin_keys_are_checked_with_the_plugin_naming_the_set) {
  // An optimizer key the plugin does not declare: found once the plugin's
  // keys are known (check_plugin_keys), at the --set, not at a file line.
  const Pipeline p = set_ok({"optimizer.lrr=3e-4"});
  const std::vector<std::string> declared{"lr", "betas", "eps", "weight_decay"};
  const plinth::Status s = plinth::config::check_plugin_keys(p.optimizer.table, "optimizer", declared,
                                                             plinth::config::kOptimizerCoreKeys, p.source);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "--set optimizer.lrr=3e-4: optimizer.lrr: unknown key (did you mean 'lr'?)");
}

TEST(overrides, the_last_of_several_on_one_key_wins) {
  const Pipeline p = set_ok({"train.epochs=2", "train.batch_size=4", "train.epochs=5"});
  EXPECT_EQ(p.train.epochs, 5);
  EXPECT_EQ(p.train.batch_size, 4);
  EXPECT_EQ(p.overrides,
            (std::vector<std::string>{"train.epochs=2", "train.batch_size=4", "train.epochs=5"}));
}

TEST(overrides, malformed_arguments) {
  EXPECT_EQ(set_err({"train.epochs"}),
            "--set train.epochs: expected key=value (e.g. --set optimizer.lr=3e-4): there is no '='");
  EXPECT_HAS(set_err({"=3"}), "the key before '=' is empty");
  EXPECT_HAS(set_err({"train..epochs=3"}), "train..epochs: an empty part in the dotted key");
  EXPECT_HAS(set_err({"train.batch_size="}), "expected an integer, got ''");
  // Spaces around the key and the value are dropped.
  EXPECT_EQ(set_ok({" train.epochs = 4 "}).train.epochs, 4);
}

TEST(overrides, document_holds_the_overridden_values) {
  const Pipeline p = set_ok({"train.epochs=7", "model.layer.0.out=5"});
  EXPECT_EQ(p.document["train"]["epochs"].value_or(int64_t{0}), 7);
  EXPECT_EQ(p.document["model"]["layer"][0]["out"].value_or(int64_t{0}), 5);
}

TEST(overrides, comment_lines_list_them_and_read_back_the_same_pipeline) {
  const std::vector<std::string> sets{"train.epochs=2", "optimizer.lr=3e-4"};
  const Pipeline p = set_ok(sets);
  const std::string resolved = plinth::config::resolved_toml(p);
  const std::string text = plinth::config::with_override_comments(resolved, sets);
  EXPECT_HAS(
      text, "resolved: every default filled in.\n# --set train.epochs=2\n# --set optimizer.lr=3e-4\n\n[run]");
  EXPECT_EQ(plinth::config::override_comments(text), sets);
  EXPECT_TRUE(plinth::config::override_comments(resolved).empty());
  EXPECT_EQ(plinth::config::with_override_comments(resolved, {}), resolved);
  // The commented text reads back to the pipeline the overrides made.
  auto again = plinth::config::parse_pipeline(text, "dir/p.toml");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(plinth::config::resolved_toml(*again), resolved);
}

TEST(overrides, override_key_is_the_dotted_key) {
  EXPECT_EQ(plinth::config::override_key("optimizer.lr=3e-4"), "optimizer.lr");
  EXPECT_EQ(plinth::config::override_key(" a.b = c=d"), "a.b");
  EXPECT_EQ(plinth::config::override_key("nothing"), "");
}

}  // namespace
