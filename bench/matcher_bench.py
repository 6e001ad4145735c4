"""Speed and memory of the matcher at 1,000 and 10,000 synthetic FAQ intents.

    python bench/matcher_bench.py [--sizes 1000 10000] [--queries 3000] [--seed 7]

Each size runs in its own process (so RSS is per process, as in a web worker): it generates
FAQ intents by combining product, aspect and question vocabulary (so texts differ but share
many words, like a real catalogue), adds the built-in intents, builds the index, then times
`match` on paraphrases of random intents mixed with built-in and off-topic queries.
Prints index build time, median and p99 per-query latency, and RSS (VmRSS now, peak).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BRANDS = """小米 华为 苏泊尔 美的 格力 安踏 李宁 优衣库 三只松鼠 良品铺子 飞利浦 松下 戴森 九阳
    小熊 罗技 雷蛇 倍思 绿联 南极人""".split()
PRODUCTS = """蓝牙耳机 扫地机器人 空气炸锅 电动牙刷 羽绒服 运动鞋 保温杯 面膜 口红 婴儿车 猫粮
    投影仪 机械键盘 无线鼠标 充电宝 电饭煲 破壁机 加湿器 电热毯 行李箱 双肩包 瑜伽垫 跑步机 台灯
    净水器 剃须刀 吹风机 卷发棒 智能手表 平板支架 床上四件套 乳胶枕 坚果礼盒 茶叶 咖啡豆 牛排
    车载充电器 儿童积木 宠物窝 登山杖""".split()
ASPECTS = """电池 充电 尺寸 颜色 材质 清洗 说明书 配件 续航 噪音 防水 保质期 使用方法 连接 配对
    固件升级 重量 温度 档位 滤网 刀头 耗材 适用人群 产地 成分 包装尺寸 功率 电压
    遥控器 APP""".split()
TEMPLATES = [
    "{b}{p}的{a}怎么样", "{b}{p}{a}有问题怎么办", "{p}的{a}在哪里看", "{b}{p}支持{a}吗",
    "请问{b}{p}{a}是多少", "{p}{a}坏了能换吗", "买的{b}{p}{a}不对", "{b}{p}{a}怎么设置",
    "{p}{a}多久需要更换", "{b}的{p}{a}说明",
]
PARAPHRASES = [
    "想问下{b}{p}的{a}", "{b}{p}{a}咋回事", "我买的{p}{a}怎么弄", "{b}{p}{a}求助",
    "{p}{a}相关问题", "你们{b}{p}的{a}靠谱吗",
]
OTHER = ["我的快递到哪了", "转人工", "你好", "怎么退货", "今天天气怎么样", "123456 发货了吗",
         "SF1234567890123 到哪了", "给我讲个笑话", "关闭物流推送", "谢谢"]


def synthetic_intents(count: int, rng: random.Random) -> list[dict]:
    combos = [(b, p, a) for b in BRANDS for p in PRODUCTS for a in ASPECTS]
    rng.shuffle(combos)
    intents = []
    for n, (b, p, a) in enumerate(combos[:count]):
        texts = [t.format(b=b, p=p, a=a) for t in rng.sample(TEMPLATES, 5)]
        intents.append({
            "id": f"faq_{n:05d}",
            "question": texts[0],
            "examples": texts[1:],
            "answer": f"{b}{p}的{a}说明见商品详情页。",
            "_combo": (b, p, a),
        })
    return intents


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def run_one(size: int, queries: int, seed: int, with_app: bool) -> dict:
    if not with_app:
        # Import the matcher's modules without running bot/__init__.py, which builds on
        # Flask, redis and wechatpy: this process then holds only what the matcher needs.
        package = types.ModuleType("bot")
        package.__path__ = [str(ROOT / "bot")]
        sys.modules["bot"] = package
    else:
        import bot  # noqa: F401 - the whole web app, as a gunicorn worker has it

    from bot.understanding.intent_file import load_intent_file
    from bot.understanding.matcher import IntentSpec, Matcher
    from bot.understanding.normalise import ensure_domain_dictionary, normalise

    rng = random.Random(seed)
    rss_base = rss_kb()
    started = time.perf_counter()
    ensure_domain_dictionary()
    normalise("訂單")   # zhconv loads its tables on first use
    jieba_s = time.perf_counter() - started
    rss_jieba = rss_kb()

    raw = synthetic_intents(size, rng)
    builtin = load_intent_file(ROOT / "intents" / "builtin.yaml", require_answer=False)
    specs = [IntentSpec.from_dict(d, builtin=True) for d in builtin]
    specs += [IntentSpec.from_dict({k: v for k, v in d.items() if k != "_combo"}) for d in raw]
    started = time.perf_counter()
    matcher = Matcher(specs)
    build_s = time.perf_counter() - started

    texts = []
    for _ in range(queries):
        if rng.random() < 0.8:
            b, p, a = rng.choice(raw)["_combo"]
            texts.append(rng.choice(PARAPHRASES).format(b=b, p=p, a=a))
        else:
            texts.append(rng.choice(OTHER))
    for text in texts[:50]:   # warm-up: first-call costs are not per-query costs
        matcher.match(text)
    times = []
    outcomes: dict[str, int] = {}
    for text in texts:
        t0 = time.perf_counter()
        result = matcher.match(text)
        times.append(time.perf_counter() - t0)
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
    times.sort()
    return {
        "size": size,
        "intents": len(specs),
        "examples": len(matcher._ex_compact),
        "jieba_load_s": jieba_s,
        "build_s": build_s,
        "queries": len(texts),
        "median_ms": statistics.median(times) * 1000,
        "p99_ms": times[int(len(times) * 0.99) - 1] * 1000,
        "mean_ms": statistics.fmean(times) * 1000,
        "rss_base_mb": rss_base / 1024,
        "rss_jieba_mb": rss_jieba / 1024,
        "rss_mb": rss_kb() / 1024,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "outcomes": outcomes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--app", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        result = run_one(args.one, args.queries, args.seed, args.app)
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"{'process':>12} {'intents':>8} {'examples':>8} {'build':>7} {'median':>9} "
          f"{'p99':>9} {'mean':>9} {'RSS':>7} {'peak':>7} {'imports':>8} {'+jieba':>7} "
          f"{'+index':>7}")
    runs = [(size, False) for size in args.sizes] + [(max(args.sizes), True)]
    for size, with_app in runs:
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--queries", str(args.queries),
             "--seed", str(args.seed), *(["--app"] if with_app else [])],
            capture_output=True, text=True, check=True,
        )
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{'matcher+app' if with_app else 'matcher':>12} {r['intents']:>8} "
              f"{r['examples']:>8} {r['build_s']:>6.2f}s {r['median_ms']:>7.3f}ms "
              f"{r['p99_ms']:>7.3f}ms {r['mean_ms']:>7.3f}ms {r['rss_mb']:>5.0f}MB "
              f"{r['peak_rss_mb']:>5.0f}MB {r['rss_base_mb']:>6.0f}MB "
              f"{r['rss_jieba_mb'] - r['rss_base_mb']:>5.0f}MB "
              f"{r['rss_mb'] - r['rss_jieba_mb']:>5.0f}MB  {r['outcomes']}")
    print("\nRSS: VmRSS at the end of the run; peak: ru_maxrss. imports: VmRSS before jieba's "
          "dictionary is loaded (Python, jieba's module, rapidfuzz, zhconv; 'matcher+app' also "
          "imports the bot package: Flask, redis, wechatpy); +jieba: jieba's dictionary with the "
          "domain words and zhconv's tables; +index: the intents (as IntentSpec) and the index.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
