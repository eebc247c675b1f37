import { createRouter, createWebHistory } from 'vue-router';
import ClassifyPage from './pages/ClassifyPage.vue';

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', name: 'classify', component: ClassifyPage, meta: { title: 'Classify' } },
    // The chart-heavy pages load when first opened.
    { path: '/training', name: 'training', component: () => import('./pages/TrainingPage.vue'), meta: { title: 'Training' } },
    { path: '/models', name: 'models', component: () => import('./pages/ModelsPage.vue'), meta: { title: 'Models' } },
    { path: '/dataset', name: 'dataset', component: () => import('./pages/DatasetPage.vue'), meta: { title: 'Dataset' } },
    { path: '/review', name: 'review', component: () => import('./pages/ReviewPage.vue'), meta: { title: 'Review' } },
    { path: '/:pathMatch(.*)*', redirect: '/' },
  ],
});

router.afterEach((to) => {
  const title = typeof to.meta.title === 'string' ? to.meta.title : '';
  document.title = title ? `${title} · Skin lesion screening` : 'Skin lesion screening';
});
