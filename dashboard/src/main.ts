import urql from '@urql/vue';
import { createApp } from 'vue';
import App from './App.vue';
import { graphqlClient } from './api/client';
import { router } from './router';
import './styles/base.css';

createApp(App).use(router).use(urql, graphqlClient).mount('#app');
