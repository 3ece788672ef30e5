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
