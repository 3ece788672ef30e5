"""TF1 programs (part 10: placeholders declared without a shape, as book examples write them:
``X = tf.placeholder(tf.float32)``, then matmul, softmax cross-entropy and an argmax accuracy;
issue #15). See tf1_oracle.py for how they are run and compared."""


PROGRAMS: dict[str, str] = {}

PROGRAMS["book_unknown_rank_softmax"] = """
rng = np.random.RandomState(0)
x_train = rng.randn(12, 4).astype(np.float32)
y_train = (x_train[:, 0] + x_train[:, 1] > 0).astype(np.int64) + (x_train[:, 2] > 1)
X = tf.placeholder(tf.float32)
Y = tf.placeholder(tf.int64)
W = tf.Variable(tf.zeros([4, 3]), name="weights")
b = tf.Variable(tf.zeros([3]), name="bias")
logits = tf.matmul(X, W) + b
print(X.shape, logits.shape, logits)
xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=Y, logits=logits)
loss = tf.reduce_mean(xent)
print(xent.shape, loss.shape)
prob = tf.nn.softmax(logits)
correct = tf.equal(tf.argmax(prob, 1), Y)
accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
print(prob.shape, correct.shape, accuracy.shape)
train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(30):
        _, l = sess.run([train, loss], {X: x_train, Y: y_train})
        if step % 10 == 0:
            print(step, l)
    print(sess.run(accuracy, {X: x_train, Y: y_train}))
    print(sess.run(prob, {X: x_train[:2]}))
    print(sess.run(tf.reduce_sum(X, axis=1), {X: x_train[:3]}))
    print(sess.run(tf.transpose(X), {X: [[1.0, 2.0, 3.0]]}))
    print(sess.run(tf.concat([X, X], 1), {X: [[1.0], [2.0]]}))
    raises(lambda: sess.run(accuracy, {X: x_train[0], Y: y_train[:1]}))
"""

PROGRAMS["book_unknown_rank_regression"] = """
X = tf.placeholder(tf.float32, shape=(None))
Y = tf.placeholder(tf.float32, shape=None)
w = tf.Variable([[0.0], [0.0]], name="w")
pred = tf.squeeze(tf.matmul(X, w), axis=1)
cost = tf.reduce_sum(tf.square(pred - Y)) / 8.0
grads = tf.gradients(cost, [w, X])
print(pred.shape, cost.shape, [g.shape for g in grads])
opt = tf.train.GradientDescentOptimizer(0.05).minimize(cost)
xs = np.array([[1.0, 1.0], [1.0, 2.0], [1.0, 3.0], [1.0, 4.0]], np.float32)
ys = np.array([3.0, 5.0, 7.0, 9.0], np.float32)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for epoch in range(50):
        sess.run(opt, {X: xs, Y: ys})
    print(sess.run([cost, w], {X: xs, Y: ys}))
    print(sess.run(grads[1], {X: xs, Y: ys}))
"""
