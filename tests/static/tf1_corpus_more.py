"""TF1 programs (part 5: hello world with string constants, run-time ``tf.shape``, ``tf.cond``,
streaming ``tf.metrics``, integer promotion). See tf1_oracle.py for how they are compared."""

PROGRAMS: dict[str, str] = {}

PROGRAMS["hello_world"] = """
hello = tf.constant('Hello, TensorFlow!')
sess = tf.Session()
print(sess.run(hello))
print(hello, hello.dtype)
print(sess.run(hello).decode())
big = tf.constant(2 ** 40)
print(big.dtype, repr(sess.run(big)), tf.constant([1, 2 ** 33]).dtype)
sess.close()
"""

PROGRAMS["dynamic_shape_and_cond"] = """
x = tf.placeholder(tf.float32, [None, 3], name="x")
batch = tf.shape(x)[0]
n = tf.cast(batch, tf.float32)
mean_manual = tf.reduce_sum(x, 0) / n
zeros = tf.zeros(tf.shape(x))
ones = tf.ones_like(x)
filled = tf.fill(tf.shape(x), 0.5)
back = tf.reshape(tf.reshape(x, [-1]), tf.shape(x))
is_big = tf.reduce_sum(x) > 10.0
scaled = tf.cond(is_big, lambda: x / 10.0, lambda: x * 2.0)
pair = tf.cond(is_big, lambda: (tf.reduce_max(x), n), lambda: (tf.reduce_min(x), -n))
print(tf.shape(x), batch, zeros, scaled)
print(batch.shape, zeros.shape, filled.shape, back.shape, scaled.shape)
with tf.Session() as sess:
    for feed in (np.arange(6, dtype=np.float32).reshape(2, 3), np.ones((1, 3), np.float32)):
        print(sess.run([tf.shape(x), batch, n, mean_manual], {x: feed}))
        print(sess.run([zeros, ones, filled, back], {x: feed}))
        print(sess.run([scaled, pair], {x: feed}))
w = tf.Variable(2.0)
loss = tf.cond(w > 1.0, lambda: w * w, lambda: 3.0 * w)
g = tf.gradients(loss, w)[0]
with tf.Session() as sess:
    sess.run(w.initializer)
    print(sess.run([loss, g]))
    sess.run(tf.assign(w, 0.5))
    print(sess.run([loss, g]))
"""

PROGRAMS["streaming_metrics"] = """
labels = tf.placeholder(tf.int64, [None])
logits = tf.placeholder(tf.float32, [None, 3])
predictions = tf.argmax(logits, 1)
acc, acc_op = tf.metrics.accuracy(labels=labels, predictions=predictions)
mean_logit, mean_op = tf.metrics.mean(tf.reduce_max(logits, 1))
print(acc, acc_op)
print([v.name for v in tf.local_variables()])
batches = [([0, 1], [[2.0, 1.0, 0.0], [0.0, 1.0, 3.0]]),
           ([2, 2, 1], [[0.0, 0.5, 1.0], [1.0, 0.0, 0.0], [0.1, 0.9, 0.3]])]
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    sess.run(tf.local_variables_initializer())
    print(sess.run(acc))
    for lab, lg in batches:
        print(sess.run([acc_op, mean_op], {labels: lab, logits: lg}))
    print(sess.run([acc, mean_logit]))
    sess.run(tf.local_variables_initializer())
    print(sess.run(acc))
"""

PROGRAMS["rounding_and_integer_math"] = """
x = tf.constant([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 1.2, -1.7])
i = tf.constant([7, -7, 6, -6])
outs = [tf.floor(x), tf.ceil(x), tf.round(x), x // 2.0, x % 2.0, i // 2, i % 4, i / 2,
        tf.floordiv(i, 3), tf.mod(i, 3), tf.floormod(x, 1.5), tf.div(i, 2), tf.truediv(i, 4),
        tf.abs(i), tf.negative(i), tf.maximum(i, 0), tf.square(i), tf.sign(i)]
for t in outs:
    print(t.name, t.dtype)
with tf.Session() as sess:
    for v in sess.run(outs):
        print(repr(v))
"""

PROGRAMS["kernel_dtype_rules"] = """
i = tf.constant([1, 4])
f = tf.constant([1.0, 4.0])
b = tf.constant([True, False])
for fn in (tf.sqrt, tf.exp, tf.log, tf.sigmoid, tf.tanh, tf.sin, tf.nn.softmax,
           tf.nn.log_softmax, tf.floor, tf.reduce_logsumexp):
    raises(lambda: fn(i), "int32")
for fn in (lambda: -b, lambda: b + b, lambda: tf.reduce_sum(b), lambda: tf.reduce_mean(b),
           lambda: i / 2.5, lambda: tf.clip_by_value(i, 0.5, 2.5), lambda: i * 1.5):
    raises(fn)
raises(lambda: tf.matmul(f, f), "rank")
outs = [tf.stack([1, 2.0]), tf.stack([[1, 2], [3, 4]], axis=1), tf.cumsum(f),
        tf.cumsum(tf.constant([[1, 2], [3, 4]]), axis=1, exclusive=True),
        tf.cumsum(f, reverse=True), tf.reverse(tf.constant([[1, 2], [3, 4]]), [1]),
        tf.clip_by_value(i, 0, 2), tf.maximum(i, 2), tf.square(i), tf.abs(-i), tf.sign(-f),
        tf.reduce_max(i), tf.argmax(b), tf.cast(b, tf.float32), tf.zeros_like(b),
        tf.reduce_sum(f, keepdims=True), tf.argmax(tf.constant([[1, 5], [7, 2]]), -1)]
for t in outs:
    print(t.dtype, t.shape)
with tf.Session() as sess:
    for v in sess.run(outs):
        print(repr(v))
"""

PROGRAMS["more_losses_and_helpers"] = """
x = tf.placeholder(tf.float32, [None, 2], name="x")
W = tf.Variable([[0.5, -1.0], [0.25, 2.0]], name="W")
b = tf.Variable([0.1, -0.2], name="b")
logits = tf.nn.xw_plus_b(x, W, b)
labels = tf.constant([[1.0, 0.0], [0.0, 1.0]])
probs = tf.sigmoid(logits)
mean, var = tf.nn.moments(logits, [0])
bn = tf.nn.batch_normalization(logits, mean, var, offset=0.1, scale=2.0, variance_epsilon=1e-3)
losses = [tf.losses.absolute_difference(labels, probs), tf.losses.log_loss(labels, probs),
          tf.losses.huber_loss(labels, logits), tf.losses.sigmoid_cross_entropy(labels, logits),
          tf.losses.mean_squared_error(labels, probs, weights=2.0)]
for t in [logits, bn] + losses:
    print(t)
vals = tf.constant([1.0, 0.0, np.nan, np.inf, -2.0])
helpers = [tf.count_nonzero(vals), tf.count_nonzero(tf.constant([[0, 1], [2, 3]]), axis=1),
           tf.is_nan(vals), tf.is_inf(vals), tf.is_finite(vals), tf.diag([1.0, 2.0]),
           tf.scalar_mul(3.0, tf.constant([1.0, 2.0])), tf.to_int64(tf.constant([1.7])),
           tf.to_double(tf.constant(1.5))]
grads = tf.gradients(tf.add_n(losses), [W, b])
train = tf.train.GradientDescentOptimizer(0.1).minimize(tf.add_n(losses))
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    feed = {x: [[1.0, 2.0], [-1.0, 0.5]]}
    print(sess.run([logits, bn, losses, grads], feed))
    sess.run(train, feed)
    for v in sess.run([W, b] + helpers):
        print(repr(v))
"""

PROGRAMS["mlp_with_dropout_and_in_top_k"] = """
x = tf.placeholder(tf.float32, [None, 4], name="x")
labels = tf.placeholder(tf.int32, [None], name="labels")
keep_prob = tf.placeholder(tf.float32)
W1 = tf.Variable(np.linspace(-0.5, 0.5, 24).reshape(4, 6).astype(np.float32), name="W1")
b1 = tf.Variable(tf.zeros([6]), name="b1")
W2 = tf.Variable(np.linspace(0.3, -0.3, 18).reshape(6, 3).astype(np.float32), name="W2")
hidden = tf.nn.relu(tf.matmul(x, W1) + b1)
h_drop = tf.nn.dropout(hidden, keep_prob)
logits = tf.matmul(h_drop, W2)
loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                     logits=logits))
correct = tf.nn.in_top_k(logits, labels, 1)
n_correct = tf.reduce_sum(tf.cast(correct, tf.int32))
print(h_drop.shape, correct, n_correct)
X = np.array([[1, 2, 0, -1], [0, 1, 1, 1], [2, -1, 0, 0], [-1, 0, 2, 1]], np.float32)
L = np.array([0, 1, 2, 1], np.int32)
big = np.ones((400, 6), np.float32)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(sess.run([loss, correct, n_correct], {x: X, labels: L, keep_prob: 1.0}))
    kept = sess.run(tf.nn.dropout(big, keep_prob), {keep_prob: 0.5})
    print(sorted(set(kept.ravel().tolist())), abs((kept > 0).mean() - 0.5) < 0.1)
"""
