"""TF1 programs (part 7: convolution and pooling, NHWC, as in TF1's MNIST CNN tutorial, at a
small size). See tf1_oracle.py for how they are run and compared."""

PROGRAMS: dict[str, str] = {}

PROGRAMS["conv_pool_small_cnn"] = """
x = tf.placeholder(tf.float32, [None, 16], name="x")
y_ = tf.placeholder(tf.float32, [None, 2], name="y_")
x_image = tf.reshape(x, [-1, 4, 4, 1])
W_conv1 = tf.Variable(np.linspace(-0.4, 0.5, 3 * 3 * 1 * 2).reshape(3, 3, 1, 2)
                      .astype(np.float32), name="W_conv1")
b_conv1 = tf.Variable(tf.constant(0.1, shape=[2]), name="b_conv1")
h_conv1 = tf.nn.relu(tf.nn.conv2d(x_image, W_conv1, strides=[1, 1, 1, 1], padding="SAME")
                     + b_conv1)
h_pool1 = tf.nn.max_pool(h_conv1, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
valid = tf.nn.conv2d(x_image, W_conv1, strides=[1, 2, 2, 1], padding="VALID")
avg = tf.nn.avg_pool(h_conv1, ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="SAME")
avg_v = tf.nn.avg_pool(h_conv1, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID")
flat = tf.reshape(h_pool1, [-1, 2 * 2 * 2])
W_fc = tf.Variable(np.linspace(0.3, -0.3, 16).reshape(8, 2).astype(np.float32), name="W_fc")
logits = tf.matmul(flat, W_fc)
loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=logits))
grads = tf.gradients(loss, [W_conv1, b_conv1, W_fc])
train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
for t in (x_image, h_conv1, h_pool1, valid, avg, avg_v, flat, logits):
    print(t.shape)
X = np.linspace(-1, 1, 32).reshape(2, 16).astype(np.float32)
Y = np.array([[1, 0], [0, 1]], np.float32)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(sess.run([h_conv1, h_pool1, valid, avg, avg_v], {x: X}))
    print(sess.run([loss, grads], {x: X, y_: Y}))
    for _ in range(3):
        sess.run(train, {x: X, y_: Y})
    print(sess.run([loss, W_conv1], {x: X, y_: Y}))
"""

PROGRAMS["layers_cnn_batchnorm_dropout"] = """
rng = np.random.RandomState(7)
X = rng.rand(16, 8, 8, 1).astype(np.float32)
Y = (X[:, :4].mean(axis=(1, 2, 3)) > X[:, 4:].mean(axis=(1, 2, 3))).astype(np.int64)
init = tf.constant_initializer
x = tf.placeholder(tf.float32, [None, 8, 8, 1], name="x")
y = tf.placeholder(tf.int64, [None], name="y")
is_training = tf.placeholder(tf.bool, [], name="is_training")
use_dropout = tf.placeholder_with_default(False, [], name="use_dropout")
conv1 = tf.layers.conv2d(x, 4, 3, padding="same", activation=tf.nn.relu,
                         kernel_initializer=init(rng.randn(3, 3, 1, 4) * 0.4))
bn1 = tf.layers.batch_normalization(conv1, training=is_training)
pool1 = tf.layers.max_pooling2d(bn1, 2, 2)
conv2 = tf.layers.Conv2D(6, [3, 3], strides=(1, 1), padding="valid",
                         kernel_initializer=init(rng.randn(3, 3, 4, 6) * 0.3),
                         bias_initializer=init(0.05))(pool1)
pool2 = tf.layers.average_pooling2d(conv2, pool_size=2, strides=1, padding="same")
flat = tf.layers.flatten(pool2)
drop = tf.layers.dropout(flat, rate=0.4, training=use_dropout)
hidden = tf.layers.dense(drop, 8, activation=tf.nn.relu,
                         kernel_initializer=init(rng.randn(24, 8) * 0.2))
bn2 = tf.layers.batch_normalization(hidden, training=is_training, momentum=0.9)
logits = tf.layers.dense(bn2, 2, kernel_initializer=init(rng.randn(8, 2) * 0.3))
loss = tf.losses.sparse_softmax_cross_entropy(labels=y, logits=logits)
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.GradientDescentOptimizer(0.2).minimize(loss)
for t in (conv1, pool1, conv2, pool2, flat, hidden, logits):
    print(t.name, t.shape)
print(bn1.shape, drop.shape, bn2.shape)
print([v.name for v in tf.global_variables()])
print([v.name for v in tf.trainable_variables()])
print(len(update_ops))
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(sess.run([loss, bn1[0, :2, :2], logits[:3]], {x: X, y: Y, is_training: False}))
    print(sess.run([loss, bn1[0, :2, :2], bn2[:3]], {x: X, y: Y, is_training: True}))
    for step in range(4):
        _, l = sess.run([train_op, loss], {x: X, y: Y, is_training: True})
        print(step, l)
    for v in tf.global_variables():
        if "moving" in v.name:
            print(v.name, sess.run(v).tolist())
    print(sess.run([loss, logits[:3]], {x: X, y: Y, is_training: False}))
    f, d = sess.run([flat, drop], {x: X, is_training: False, use_dropout: True})
    kept = d != 0
    print(np.allclose(d[kept], f[kept] / 0.6, rtol=1e-5), 0.4 < kept[f != 0].mean() < 0.8)
    print(np.array_equal(sess.run(drop, {x: X, is_training: False}), f))
"""

PROGRAMS["layers_reuse_and_errors"] = """
x = tf.placeholder(tf.float32, [2, 5, 5, 3], name="x")
with tf.variable_scope("net"):
    a = tf.layers.conv2d(x, 2, [3, 3], name="c", kernel_initializer=tf.ones_initializer())
with tf.variable_scope("net", reuse=True):
    b = tf.layers.conv2d(x + 1.0, 2, [3, 3], name="c")
layer = tf.layers.Conv2D(2, 2, name="shared", kernel_initializer=tf.constant_initializer(0.1))
c1, c2 = layer(x), layer(x * 2.0)
bn = tf.layers.BatchNormalization(axis=1, momentum=0.5)
n1 = bn(x, training=True)
n2 = bn(x * 3.0, training=False)
print(a.name, b.name, c1.name, c2.name, n1.shape, n2.shape)
print([v.name for v in tf.global_variables()])
print([v.name for v in layer.variables], [v.name for v in bn.variables])
print(len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)))
X = np.arange(150, dtype=np.float32).reshape(2, 5, 5, 3) / 50.0
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(sess.run([a[0, 0, 0], b[0, 0, 0], c1[1, 1], c2[1, 1]], {x: X}))
    print(sess.run([n1[:, :, 0, 0], n2[:, :, 0, 0]], {x: X}))
    sess.run(tf.get_collection(tf.GraphKeys.UPDATE_OPS), {x: X})
    print(sess.run([bn.moving_mean, bn.moving_variance]))
for bad in (lambda: tf.layers.conv2d(x, 2, 3, padding="full"),
            lambda: tf.layers.conv2d(tf.placeholder(tf.float32, [None, 4]), 2, 3),
            lambda: tf.layers.max_pooling2d(x, 2, 2, padding="wide")):
    try:
        bad()
    except ValueError as e:
        print("ValueError", str(e)[:20])
"""

PROGRAMS["conv2d_transpose_values_and_grads"] = """
rng = np.random.RandomState(3)
x = tf.constant(rng.randn(2, 3, 3, 2).astype(np.float32))
w = tf.Variable(rng.randn(3, 3, 4, 2).astype(np.float32), name="w")
same = tf.nn.conv2d_transpose(x, w, output_shape=[2, 6, 6, 4], strides=[1, 2, 2, 1],
                              padding="SAME")
valid = tf.nn.conv2d_transpose(x, w, [2, 7, 7, 4], [1, 2, 2, 1], padding="VALID")
odd = tf.nn.conv2d_transpose(x, w, [2, 5, 5, 4], [1, 2, 2, 1], padding="SAME")
one = tf.nn.conv2d_transpose(x, w, [2, 3, 3, 4], [1, 1, 1, 1], padding="SAME")
print(same.shape[1:], valid.shape[1:], odd.shape[1:], one.shape[1:])
loss = tf.reduce_sum(same * same) + tf.reduce_sum(valid) + tf.reduce_sum(odd * 0.5)
gx, gw = tf.gradients(loss, [x, w])
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(sess.run([same[0, :3, :3, 0], valid[1, :, 0, 1], odd[0, 4], one[1, 1]]))
    print(sess.run([gx[0, 0], gw[:, 0, 0]]))
"""

PROGRAMS["exponential_moving_average"] = """
w = tf.Variable(np.array([1.0, 2.0], np.float32), name="w")
b = tf.Variable(3.0, name="b")
step = tf.Variable(0, trainable=False, name="step")
ema = tf.train.ExponentialMovingAverage(0.9, num_updates=step)
loss = tf.reduce_sum(tf.square(w - 5.0)) + tf.square(b)
opt = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
with tf.control_dependencies([opt]):
    train_op = ema.apply([w, b])
print(train_op.name, ema.average(w).name, ema.average_name(b), ema.average(step))
print(sorted(ema.variables_to_restore().keys()))
print([v.name for v in tf.global_variables()], [v.name for v in tf.trainable_variables()])
print([v.name for v in tf.get_collection(tf.GraphKeys.MOVING_AVERAGE_VARIABLES)])
plain = tf.train.ExponentialMovingAverage(0.5, name="avg")
keep = plain.apply()
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for i in range(4):
        sess.run(train_op)
        sess.run(keep)
        print(sess.run([w, ema.average(w), ema.average(b), plain.average(b), step]))
try:
    ema.apply([step])
except TypeError as e:
    print("TypeError", e)
"""

PROGRAMS["layers_conv2d_transpose_decoder"] = """
rng = np.random.RandomState(11)
z = tf.placeholder(tf.float32, [None, 3, 3, 2], name="z")
init = tf.constant_initializer
up1 = tf.layers.conv2d_transpose(z, 3, 3, strides=2, padding="same", activation=tf.nn.relu,
                                 kernel_initializer=init(rng.randn(3, 3, 3, 2) * 0.5))
up2 = tf.layers.conv2d_transpose(up1, 1, [2, 2], strides=(2, 2), padding="valid",
                                 kernel_initializer=init(rng.randn(2, 2, 1, 3) * 0.5),
                                 bias_initializer=init(0.1), name="out")
up3 = tf.layers.conv2d_transpose(z, 2, 3, strides=2, padding="valid", use_bias=False,
                                 kernel_initializer=init(rng.randn(3, 3, 2, 2) * 0.5))
print(up1.name, up1.shape, up2.name, up2.shape, up3.shape)
print([v.name for v in tf.global_variables()], tf.global_variables()[0].shape)
target = tf.constant(rng.rand(2, 12, 12, 1).astype(np.float32))
loss = tf.reduce_mean(tf.square(up2 - target)) + 0.01 * tf.reduce_mean(up3)
train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
Z = rng.randn(2, 3, 3, 2).astype(np.float32)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(sess.run([up1[0, :2, :2], up2[1, 5:8, 5:8, 0], up3[0, 6]], {z: Z}))
    for step in range(3):
        print(step, sess.run([train, loss], {z: Z})[1])
    print(sess.run(tf.global_variables()[1]))
"""
