// distributed_config_test.cpp — the [distributed] section: defaults, values
// read back, each bad value one error naming the key, and resolve writes the
// section only when the pipeline has it.
#include <gtest/gtest.h>

#include "config/pipeline.hpp"

namespace {

using plinth::config::parse_pipeline;

const std::string kMinimal =
    "[data.train]\nsource = \"synthetic\"\n[[model.layer]]\ntype = \"linear\"\nout = 4\n";

TEST(distributed_config, defaults_and_values) {
  auto d = parse_pipeline(kMinimal, "p.toml");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_FALSE(d->distributed.present);
  EXPECT_EQ(d->distributed.communicator, "auto");
  EXPECT_EQ(d->distributed.bucket_mb, 4.0);
  EXPECT_EQ(d->distributed.timeout, 300.0);
  EXPECT_EQ(d->distributed.compression, "none");
  EXPECT_EQ(plinth::config::resolved_toml(*d).find("[distributed]"), std::string::npos);

  auto p = parse_pipeline(kMinimal +
                              "[distributed]\ncommunicator = \"mpi\"\nbucket_mb = 0.5\ntimeout = 7\n"
                              "compression = \"bf16\"\n",
                          "p.toml");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_TRUE(p->distributed.present);
  EXPECT_EQ(p->distributed.communicator, "mpi");
  EXPECT_EQ(p->distributed.bucket_mb, 0.5);
  EXPECT_EQ(p->distributed.timeout, 7.0);
  EXPECT_EQ(p->distributed.compression, "bf16");
  // Resolved and read back: the same values.
  auto again = parse_pipeline(plinth::config::resolved_toml(*p), "r.toml");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->distributed.communicator, "mpi");
  EXPECT_EQ(again->distributed.bucket_mb, 0.5);
  EXPECT_EQ(again->distributed.timeout, 7.0);
  EXPECT_EQ(again->distributed.compression, "bf16");
}

TEST(distributed_config, powersgd_keys_default_and_read_back) {
  auto d = parse_pipeline(kMinimal, "p.toml");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->distributed.powersgd_rank, 4);
  EXPECT_EQ(d->distributed.powersgd_warmup_steps, 10);
  auto p = parse_pipeline(
      kMinimal + "[distributed]\ncompression = \"powersgd\"\npowersgd_rank = 2\npowersgd_warmup_steps = 0\n",
      "p.toml");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->distributed.compression, "powersgd");
  EXPECT_EQ(p->distributed.powersgd_rank, 2);
  EXPECT_EQ(p->distributed.powersgd_warmup_steps, 0);
  auto again = parse_pipeline(plinth::config::resolved_toml(*p), "r.toml");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->distributed.compression, "powersgd");
  EXPECT_EQ(again->distributed.powersgd_rank, 2);
  EXPECT_EQ(again->distributed.powersgd_warmup_steps, 0);
}

TEST(distributed_config, bad_values_name_the_key) {
  auto err = [](const std::string& body) {
    auto r = parse_pipeline(kMinimal + "[distributed]\n" + body, "p.toml");
    return r.ok() ? std::string("parsed") : r.status().message();
  };
  EXPECT_NE(err("timeout = 0\n").find("p.toml:7:"), std::string::npos) << err("timeout = 0\n");
  EXPECT_NE(err("timeout = 0\n").find("timeout"), std::string::npos);
  EXPECT_NE(err("bucket_mb = -1\n").find("bucket_mb"), std::string::npos);
  EXPECT_NE(err("compression = \"zip\"\n").find("compression"), std::string::npos)
      << err("compression = \"zip\"\n");
  EXPECT_NE(err("timout = 3\n").find("timeout"), std::string::npos) << err("timout = 3\n");  // did you mean
  EXPECT_NE(err("communicator = \"\"\n").find("communicator"), std::string::npos);
  EXPECT_NE(err("powersgd_rank = 0\n").find("powersgd_rank must be in [1, 1024]"), std::string::npos)
      << err("powersgd_rank = 0\n");
  EXPECT_NE(err("powersgd_warmup_steps = -1\n").find("powersgd_warmup_steps"), std::string::npos);
  EXPECT_NE(err("powersgd_rank = 2.5\n").find("powersgd_rank"), std::string::npos);
}

}  // namespace
