"""TF1 programs (part 1: graph building, reprs, dtypes, shapes, array and math ops), written as
TF1 tutorials write them. Each is source text run with ``tf`` bound to ``tensorflow.compat.v1``
(v2 behaviour disabled) or to ``staticgraph``; their printed output must agree (see
tf1_oracle.py). ``raises(fn, *fragments)`` prints the error class of ``fn()`` and whether each
message fragment occurs in it."""

PROGRAMS: dict[str, str] = {}

PROGRAMS["hello_constants"] = """
a = tf.constant(2.0)
b = tf.constant(3)
c = tf.constant([1.0, 2.0], dtype=tf.float64, name="c")
d = tf.constant(1.5, shape=[2, 3])
e = tf.constant([1, 2, 3, 4, 5, 6], shape=[2, 3])
f = tf.constant(np.arange(3, dtype=np.int64))
g = tf.constant([True, False])
for t in (a, b, c, d, e, f, g):
    print(t)
    print(repr(t), t.name, t.op.name, t.dtype, repr(t.dtype), t.shape, t.get_shape().as_list())
with tf.Session() as sess:
    out = sess.run([a, b, c, d, e, f, g])
    for v in out:
        print(repr(v), type(v).__name__, v.dtype)
"""

PROGRAMS["operators_and_names"] = """
x = tf.placeholder(tf.float32, shape=[None, 3], name="x")
y = tf.placeholder(tf.float32, [None, 3])
z = tf.placeholder(tf.float32, [None, 3])
print(x, y, z)
ops_ = [x + y, x - y, x * y, x / y, -x, x ** 2, 2.0 * x, x + 1, 1 - x, abs(x), x > y, x <= y]
for t in ops_:
    print(t.name, t.op.name, t.shape, t.dtype)  # op.type differs: see docs/static.md
xv = np.array([[1, 2, 3], [4, 5, 6]], np.float32)
yv = np.array([[2, 2, 2], [-1, 0.5, 4]], np.float32)
with tf.Session() as sess:
    for v in sess.run(ops_, feed_dict={x: xv, y: yv}):
        print(v)
"""

PROGRAMS["python_scalar_dtypes"] = """
i = tf.constant(7)
f = tf.constant(7.0)
print(i.dtype, f.dtype, (i * 2).dtype, (f * 2).dtype, (i + 1).dtype)
print((i / 2).dtype, (i // 2).dtype, (i % 3).dtype, (f // 2).dtype)
print(tf.add(1, 2).dtype, tf.add(1.0, 2.0).dtype, tf.multiply(3, 4))
with tf.Session() as sess:
    print(sess.run([i / 2, i // 2, i % 3, f // 2, f % 3.0, -i // 2, tf.truediv(7, 2)]))
    print(repr(sess.run(tf.div(7, 2))), repr(sess.run(tf.divide(7, 2))))
    print(repr(sess.run(tf.add(1, 2))), repr(sess.run(tf.multiply(1.5, 2.0))))
    print(repr(sess.run(tf.cast(tf.constant(2.7), tf.int32))))
    print(repr(sess.run(tf.cast(tf.constant([-2.7, 2.7]), tf.int64))))
    print(repr(sess.run(tf.cast(tf.constant([0, 3]), tf.bool))))
    print(repr(sess.run(tf.to_float(tf.constant(3)))))
"""

PROGRAMS["mixed_dtype_errors"] = """
i = tf.constant(1)
f = tf.constant(1.0)
d = tf.constant(1.0, dtype=tf.float64)
raises(lambda: i + f, "int32", "float32")
raises(lambda: f * d, "float64", "float32")
raises(lambda: i * 1.5)
raises(lambda: tf.matmul(tf.ones([2, 2]), tf.ones([2, 2], dtype=tf.float64)))
raises(lambda: tf.constant([1.5], dtype=tf.int32))
print((f * 2).dtype, (d + 1).dtype, (i + True if False else i).dtype)
"""

PROGRAMS["creation_ops"] = """
with tf.Session() as sess:
    z = tf.zeros([2, 3])
    o = tf.ones([3], dtype=tf.int32)
    fl = tf.fill([2, 2], 9)
    fl2 = tf.fill([2], 0.5)
    r = tf.range(5)
    r2 = tf.range(1, 10, 3)
    r3 = tf.range(0.0, 1.0, 0.25)
    ls = tf.linspace(0.0, 1.0, 5)
    zl = tf.zeros_like(fl)
    ol = tf.ones_like(r3)
    ey = tf.eye(2)
    for t in (z, o, fl, fl2, r, r2, r3, zl, ol):
        print(t.name, t.dtype, t.shape)
    print(ls.dtype, ls.shape, ey.dtype, ey.shape)
    for v in sess.run([z, o, fl, fl2, r, r2, r3, ls, zl, ol, ey]):
        print(repr(v))
"""

PROGRAMS["reductions"] = """
x = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
i = tf.constant([[1, 2], [3, 4]])
b = tf.constant([[True, False], [True, True]])
outs = [tf.reduce_sum(x), tf.reduce_sum(x, 0), tf.reduce_sum(x, axis=1),
        tf.reduce_sum(x, 1, keepdims=True), tf.reduce_mean(x), tf.reduce_mean(x, axis=0),
        tf.reduce_max(x, 1), tf.reduce_min(x, [0, 1]), tf.reduce_sum(x, axis=-1),
        tf.reduce_mean(i), tf.reduce_mean(i, 0), tf.reduce_sum(i), tf.reduce_prod(x, 1),
        tf.reduce_all(b, 1), tf.reduce_any(b), tf.reduce_logsumexp(x, 1),
        tf.reduce_sum(x, reduction_indices=[1]), tf.reduce_mean(x, 1, keep_dims=True)]
for t in outs:
    print(t.name, t.shape, t.dtype)
with tf.Session() as sess:
    for v in sess.run(outs):
        print(repr(v))
"""

PROGRAMS["argmax_accuracy"] = """
logits = tf.placeholder(tf.float32, [None, 3], name="logits")
labels = tf.placeholder(tf.int64, [None], name="labels")
onehot = tf.placeholder(tf.float32, [None, 3])
pred = tf.argmax(logits, 1)
correct = tf.equal(pred, labels)
accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
correct2 = tf.equal(tf.argmax(logits, axis=1), tf.argmax(onehot, 1))
acc2 = tf.reduce_mean(tf.cast(correct2, "float"))
am0 = tf.argmax(logits)
amin = tf.argmin(logits, 1, output_type=tf.int32)
print(pred, correct, accuracy, am0, amin)
lv = np.array([[0.1, 2.0, 0.3], [3.0, 0.0, 1.0], [0.0, 0.1, 0.2], [1.0, 5.0, 0.0]], np.float32)
feed = {logits: lv, labels: [1, 0, 0, 2], onehot: np.eye(3, dtype=np.float32)[[1, 1, 2, 1]]}
with tf.Session() as sess:
    print(sess.run([pred, correct, accuracy], feed_dict=feed))
    print(sess.run(acc2, feed), sess.run(am0, feed), repr(sess.run(amin, feed)))
    print(accuracy.eval(feed_dict=feed))
"""

PROGRAMS["shape_ops"] = """
x = tf.placeholder(tf.float32, [None, 2, 3], name="x")
a = tf.reshape(x, [-1, 6])
b = tf.transpose(x, [0, 2, 1])
c = tf.transpose(tf.constant([[1, 2, 3], [4, 5, 6]]))
d = tf.expand_dims(x, 1)
e = tf.squeeze(tf.expand_dims(a, -1), axis=[2])
f = tf.concat([x, x], axis=1)
g = tf.stack([a, a], axis=1)
h = tf.tile(tf.constant([[1, 2]]), [2, 3])
k = tf.slice(tf.constant([[1, 2, 3], [4, 5, 6]]), [0, 1], [2, 2])
m = tf.gather(tf.constant([10.0, 20.0, 30.0]), [2, 0, 2])
n = tf.concat([tf.constant([1, 2]), tf.constant([3])], 0)
p = x[:, 0, 1:]
q = tf.unstack(tf.constant([[1, 2], [3, 4]]))
s = tf.squeeze(tf.constant([[[1.0], [2.0]]]))
for t in (a, b, c, d, e, f, g, h, k, m, n, p, q[0], s):
    print(t.name, t.get_shape().as_list(), t.dtype)
xv = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
with tf.Session() as sess:
    for v in sess.run([a, b, c, d, e, f, g, h, k, m, n, p, q, s], {x: xv}):
        print(repr(v))
"""

PROGRAMS["shape_inspection"] = """
x = tf.placeholder(tf.float32, [None, 784], name="x")
W = tf.Variable(tf.zeros([784, 10]), name="W")
y = tf.matmul(x, W)
print(x.shape, x.get_shape(), y.shape, W.shape, W.get_shape().as_list())
print(x.shape[0], x.shape[1], x.shape.ndims, len(y.shape), y.shape.as_list())
print(x.get_shape()[1].value, x.shape[0].value, y.shape.is_fully_defined())
print(W.shape.is_fully_defined(), x.shape.num_elements(), W.shape.num_elements())
print(tf.TensorShape([None, 3]), tf.TensorShape([2, 3]).as_list())
r = tf.reshape(tf.zeros([4, 6]), [2, -1, 3])
print(r.shape, tf.rank(r), tf.size(r))
with tf.Session() as sess:
    print(sess.run([tf.shape(r), tf.rank(r), tf.size(r)]))
"""

PROGRAMS["matmul_variants"] = """
a = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
b = tf.constant([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]])
outs = [tf.matmul(a, b), tf.matmul(a, a, transpose_a=True), tf.matmul(b, b, transpose_b=True),
        a @ b, tf.matmul(tf.ones([2, 2, 3]), tf.ones([2, 3, 4]))]
for t in outs:
    print(t, t.op.name)
with tf.Session() as sess:
    for v in sess.run(outs):
        print(v)
"""

PROGRAMS["math_functions"] = """
x = tf.constant([0.5, 1.0, 2.0, 4.0])
outs = [tf.sqrt(x), tf.exp(x), tf.log(x), tf.square(x), tf.pow(x, 2), tf.pow(2.0, x),
        tf.abs(-x), tf.negative(x), tf.maximum(x, 1.5), tf.minimum(x, 1.5), tf.sign(x - 1),
        tf.reciprocal(x), tf.rsqrt(x), tf.sin(x), tf.cos(x), tf.tanh(x), tf.sigmoid(x),
        tf.nn.relu(x - 1.5), tf.nn.sigmoid(x), tf.nn.tanh(x), tf.clip_by_value(x, 0.75, 3.0),
        tf.squared_difference(x, 1.0), tf.add_n([x, x, x]), tf.floor(x * 1.5), tf.ceil(x * 1.5),
        tf.round(x * 1.5), tf.log1p(x), tf.nn.softplus(x), tf.nn.relu6(x * 2),
        tf.nn.leaky_relu(x - 1.0), tf.nn.elu(x - 1.0)]
with tf.Session() as sess:
    for t, v in zip(outs, sess.run(outs)):
        print(t.op.name, t.dtype, v)
"""

PROGRAMS["comparisons_where_logical"] = """
x = tf.constant([1.0, -2.0, 3.0, -4.0])
y = tf.constant([0.0, 0.0, 5.0, -5.0])
outs = [tf.equal(x, y), tf.not_equal(x, 3.0), tf.greater(x, y), tf.greater_equal(x, -2.0),
        tf.less(x, y), tf.less_equal(x, y), tf.where(x > 0, x, y), tf.where(x > y, x, -x),
        tf.logical_and(x > 0, y > 0), tf.logical_or(x > 0, y > 0), tf.logical_not(x > 0)]
with tf.Session() as sess:
    for t, v in zip(outs, sess.run(outs)):
        print(t.name, repr(v))
"""

PROGRAMS["session_fetch_structures"] = """
import collections
a = tf.constant(1.0, name="a")
b = tf.constant([1, 2], name="b")
c = a * 2
Pair = collections.namedtuple("Pair", ["first", "second"])
with tf.Session() as sess:
    print(repr(sess.run(a)))
    print(repr(sess.run(b)))
    print(sess.run([a, b]))
    print(sess.run((a, c)))
    print(sess.run({"a": a, "pair": (b, c)}))
    print(sess.run([a, [b, {"c": c}]]))
    print(sess.run(Pair(a, c)))
    print(sess.run("a:0"), sess.run(["b:0", c.name]))
    print(type(sess.run([a])).__name__, type(sess.run((a,))).__name__)
    print(sess.run([]), sess.run(()))
    print(sess.run(tf.no_op()), sess.run([a, tf.no_op()]))
"""

PROGRAMS["graph_lookup"] = """
x = tf.placeholder(tf.float32, [2], name="input")
with tf.name_scope("layer"):
    w = tf.constant([1.0, 2.0], name="weights")
    y = tf.multiply(x, w, name="out")
g = tf.get_default_graph()
print(y.graph is g, x.graph is g)
print(g.get_tensor_by_name("layer/out:0") is y)
print(g.get_operation_by_name("layer/out") is y.op)
print([op.name for op in g.get_operations()])
print(y.op.name, y.op.inputs[0].name, y.op.inputs[1].name, len(y.op.outputs))
print([t.name for t in y.op.inputs], y.op.outputs[0] is y)
with tf.Session() as sess:
    print(sess.run("layer/out:0", {"input:0": [3.0, 4.0]}))
    print(sess.run(y, {x: [1.0, 1.0]}))
g2 = tf.Graph()
with g2.as_default():
    c = tf.constant(5.0, name="c")
    print(c.graph is g2, tf.get_default_graph() is g2)
    with tf.Session() as s2:
        print(s2.run(c))
print(tf.get_default_graph() is g, c.graph is g)
"""

PROGRAMS["implicit_constant_names"] = """
x = tf.placeholder(tf.float32, [None, 3], name="x")
i = tf.placeholder(tf.int32, [None], name="i")
v = tf.Variable(1.0, name="v")
made = [x * 2, 2 * x, tf.add(x, 1.0), tf.reduce_sum(x), tf.reduce_mean(x, 1), tf.reduce_max(x),
        tf.assign(v, 3.0), tf.assign_add(v, 1.0), tf.equal(x, 1.0), tf.maximum(x, 0.0),
        tf.pow(x, 2), tf.argmax(x, 1), x / 3.0, i // 2, i % 3, tf.where(x > 0, x, -x),
        tf.square(x - 1.0)]
print([t.name for t in made])
c = tf.constant(1.0)
print(c.name, tf.constant(2).name, tf.reduce_sum(c).name, tf.constant(3).name)
print(tf.train.exponential_decay(0.1, tf.Variable(0, trainable=False), 10, 0.5).name)
print(tf.constant(4).name)
"""
